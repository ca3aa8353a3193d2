import type * as Oidc from 'openid-client';
import type { Logger } from 'pino';
import type { OidcConfig } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { systemJob, type AuditService } from '../audit/service.ts';
import { needsTotp, type UserService } from './service.ts';
import * as store from './store.ts';
import * as logins from './oidc-store.ts';
import { hashSecret } from '../security/secrets.ts';
import { loadOpenidClient } from '../lazy.ts';

const hashState = hashSecret;

/** Why a finished provider sign-in gives no session; `message` is what the person reads. */
export class OidcRefusal extends Error {
  constructor(
    readonly status: 400 | 403 | 429 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Staff sign-in through an OpenID Connect provider (openid-client: authorization code with PKCE, state and
 * nonce). The provider vouches for a verified e-mail; it must be that of an existing admin or operator here, in
 * an allowed domain: nobody is created by signing in. The console's own second factor is still asked for
 * (docs/console.md, "Single sign-on", says why).
 */
export class OidcSignin {
  /** The provider's metadata, discovered on first use and kept (a failed discovery is tried again next time). */
  private discovered: Promise<Oidc.Configuration> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly users: UserService,
    private readonly config: OidcConfig,
    private readonly redirectUri: string,
    private readonly log: Logger,
  ) {}

  private configuration(): Promise<Oidc.Configuration> {
    this.discovered ??= loadOpenidClient()
      .then((client) =>
        client.discovery(
          new URL(this.config.issuer),
          this.config.clientId,
          { redirect_uris: [this.redirectUri] },
          client.ClientSecretPost(this.config.clientSecret),
          // http:// is allowed by config.ts for localhost only.
          this.config.issuer.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : undefined,
        ),
      )
      .catch((err: unknown) => {
        this.discovered = undefined;
        this.log.warn({ err: (err as Error).message }, 'OIDC discovery failed');
        throw new OidcRefusal(
          502,
          `${this.config.name} cannot be reached just now. Sign in with your password.`,
        );
      });
    return this.discovered;
  }

  /** Starts a sign-in: the provider URL to send the browser to, and the state its cookie keeps. */
  async start(next: string): Promise<{ url: string; state: string }> {
    const config = await this.configuration();
    const client = await loadOpenidClient();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const verifier = client.randomPKCECodeVerifier();
    await logins.insert(this.pool, hashState(state), { nonce, code_verifier: verifier, next });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state };
  }

  /**
   * Finishes a sign-in from the provider's redirect (`callback`, with its code and state) in the browser that
   * started it (`cookieState`). Answers the staff user it names and where to go next.
   */
  async finish(
    callback: URL,
    cookieState: string | undefined,
    ip: string | null,
  ): Promise<{ user: store.DbUser; next: string }> {
    const state = callback.searchParams.get('state') ?? '';
    const started =
      cookieState && state === cookieState ? await logins.take(this.pool, hashState(state)) : undefined;
    if (!started)
      throw new OidcRefusal(
        400,
        'This sign-in expired or was started in another browser. Start again from the sign-in page.',
      );
    const error = callback.searchParams.get('error');
    if (error)
      throw new OidcRefusal(
        400,
        `${this.config.name} did not sign you in (${error.slice(0, 80)}). Start again.`,
      );
    let claims: { sub?: unknown; email?: unknown; email_verified?: unknown } | undefined;
    try {
      const config = await this.configuration();
      const client = await loadOpenidClient();
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: started.code_verifier,
        expectedState: state,
        expectedNonce: started.nonce,
        idTokenExpected: true,
      });
      const id = tokens.claims()!;
      // Many providers put only `sub` in the ID token of the code flow and the e-mail in UserInfo (OIDC Core
      // 5.4); fetchUserInfo checks that it speaks of the same subject.
      claims = id.email === undefined ? await client.fetchUserInfo(config, tokens.access_token, id.sub) : id;
    } catch (err) {
      if (err instanceof OidcRefusal) throw err;
      this.log.warn({ err: (err as Error).message }, 'OIDC code exchange failed');
      throw new OidcRefusal(400, `${this.config.name} sign-in could not be completed. Start again.`);
    }
    const email = typeof claims?.email === 'string' ? claims.email.toLowerCase().slice(0, 254) : '';
    const refuse = async (reason: string, message: string): Promise<never> => {
      const by = systemJob('console-oidc');
      await this.audit.record(this.pool, { ...by, caller: { ...by.caller, ip } }, null, {
        action: 'user.signin-oidc-refused',
        targetType: 'oidc-subject',
        targetId: String(claims?.sub ?? '').slice(0, 200) || null,
        after: { issuer: this.config.issuer, email: email || null, reason },
      });
      throw new OidcRefusal(403, message);
    };
    if (!email || claims?.email_verified !== true)
      return refuse(
        'no verified e-mail',
        `${this.config.name} did not vouch for your e-mail address, so it cannot sign you in here.`,
      );
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (this.config.emailDomains.length > 0 && !this.config.emailDomains.includes(domain))
      return refuse('domain', `${email} may not sign in here through ${this.config.name}.`);
    const user = await store.byEmail(this.pool, email);
    if (!user || user.disabled_at || !needsTotp(user.role))
      return refuse(
        'no staff account',
        `There is no staff account for ${email} on this console. Ask an administrator to invite you: signing in never creates an account.`,
      );
    if (user.locked)
      throw new OidcRefusal(429, 'This account is locked after too many failed sign-ins. Try again later.');
    await this.audit.record(this.pool, this.users.authOf(user, { ip }), null, {
      action: 'user.signin-oidc',
      targetType: 'user',
      targetId: user.id,
      after: { issuer: this.config.issuer, subject: String(claims?.sub ?? '').slice(0, 200) },
    });
    return { user, next: started.next };
  }
}
