-- Sealed secrets cannot be opened without the key: `epop-gateway admin unseal-webhook-secrets` writes them back
-- in clear first (stop the gateways before, or they seal them again when they start).
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM webhook_endpoints
        WHERE secret_sealed IS NOT NULL OR previous_secret_sealed IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'webhook signing secrets are sealed: run `epop-gateway admin unseal-webhook-secrets` first';
    END IF;
END
$$;

ALTER TABLE webhook_endpoints
    DROP CONSTRAINT webhook_endpoints_secret_check,
    DROP COLUMN previous_secret_sealed,
    DROP COLUMN secret_sealed,
    ALTER COLUMN secret SET NOT NULL;
