// A real OpenID Connect provider (the `oidc-provider` package) for the single sign-on tests.
//
// Run by apps/gateway/tests/it/sso.rs as `node oidc-provider.mjs '<json>'`, where the JSON names the client
// (`client_id`, `client_secret`, `redirect_uris`) and the accounts (`{"ann": {"email": ..., "email_verified":
// true, "name": ...}}`). It listens on a free port of 127.0.0.1 and prints `issuer <url>` once it serves.
//
// Signing in needs no form: the interaction signs in the account named by the authorization request's
// `login_hint` (the test adds it to the URL the gateway redirects to), and consent is given for the client's
// scopes at once (the provider's documented "first-party client" recipe), so a test drives the whole
// authorization code flow with plain HTTP requests.

import http from 'node:http';
import Provider from 'oidc-provider';

const setup = JSON.parse(process.argv[2] ?? '{}');
const accounts = setup.accounts ?? {};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: setup.client_id,
      client_secret: setup.client_secret,
      redirect_uris: setup.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    // The ID token carries the e-mail claims itself (as most providers' do), not only the userinfo endpoint.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    cookies: { keys: ['epop-test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...account };
        },
      };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });

  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      const login = details.params.login_hint;
      const result = accounts[login]
        ? { login: { accountId: login } }
        : { error: 'access_denied', error_description: 'no such test account' };
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result));
      return;
    }
    await next();
  });

  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});
