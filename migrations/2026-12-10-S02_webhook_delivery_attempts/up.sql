-- Every attempt of a webhook delivery (docs/api.md, Webhooks): when, the receiver's status code or why it
-- failed, and how long it took. At most EPOP_WEBHOOK_ATTEMPTS_KEPT per delivery (the oldest go first); a
-- delivery's attempts go with it (EPOP_WEBHOOK_DELIVERY_RETENTION_DAYS).
CREATE TABLE webhook_delivery_attempts (
    -- a UUIDv7 of when the attempt was made: the log's order
    id           uuid        PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    status_code  integer     NULL,
    duration_ms  integer     NULL,
    error        text        NULL,
    CONSTRAINT webhook_delivery_attempts_error_length_check CHECK (char_length(error) <= 1000)
);

-- A delivery's attempts, newest first.
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, id);

-- The deliveries made so far kept their latest attempt: it becomes the first row of their log (a UUIDv7 of its
-- time: a random v4 whose first 48 bits become the Unix milliseconds and whose version bits become 7).
INSERT INTO webhook_delivery_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error)
SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing
           substring(int8send(floor(extract(epoch FROM last_attempt_at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
           52, 1), 53, 1), 'hex')::uuid,
       id, last_attempt_at, last_status_code, last_duration_ms, last_error
FROM webhook_deliveries
WHERE attempts > 0 AND last_attempt_at IS NOT NULL;
