import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
};

describe('console sign-in configuration', () => {
  it('limits 20 failed sign-ins per address in 15 minutes by default, and offers no single sign-on', () => {
    const c = loadConfig({}).console;
    assert.equal(c.signinAddressAttempts, 20);
    assert.equal(c.signinAddressSeconds, 900);
    assert.equal(c.oidc, undefined);
  });

  it('reads the OpenID Connect provider, its name and the allowed domains', () => {
    const c = loadConfig({
      CONSOLE_OIDC_ISSUER: 'https://login.provider.example/tenant/',
      CONSOLE_OIDC_CLIENT_ID: 'console',
      CONSOLE_OIDC_CLIENT_SECRET: 'a-secret-of-some-length',
      CONSOLE_OIDC_EMAIL_DOMAINS: 'Provider.example, ops.provider.example',
    }).console.oidc;
    assert.deepEqual(
      { ...c, emailDomains: [...c!.emailDomains] },
      {
        issuer: 'https://login.provider.example/tenant/',
        clientId: 'console',
        clientSecret: 'a-secret-of-some-length',
        name: 'single sign-on',
        emailDomains: ['provider.example', 'ops.provider.example'],
      },
    );
  });

  it('names each bad sign-in variable, without echoing the client secret', () => {
    assert.deepEqual(problems({ CONSOLE_OIDC_ISSUER: 'https://idp.example' }), [
      'CONSOLE_OIDC_ISSUER, CONSOLE_OIDC_CLIENT_ID and CONSOLE_OIDC_CLIENT_SECRET must be set together',
    ]);
    const bad = problems({
      CONSOLE_OIDC_ISSUER: 'http://idp.example',
      CONSOLE_OIDC_CLIENT_ID: 'console',
      CONSOLE_OIDC_CLIENT_SECRET: 'short',
      CONSOLE_OIDC_EMAIL_DOMAINS: 'not a domain',
      CONSOLE_SIGNIN_ADDRESS_ATTEMPTS: '0',
    });
    assert.equal(bad.length, 4);
    assert.match(bad.join('\n'), /CONSOLE_OIDC_ISSUER must be an https URL \(http only for localhost\)/);
    assert.match(bad.join('\n'), /CONSOLE_OIDC_CLIENT_SECRET must be 8 to 500/);
    assert.match(bad.join('\n'), /CONSOLE_OIDC_EMAIL_DOMAINS must be/);
    assert.match(bad.join('\n'), /CONSOLE_SIGNIN_ADDRESS_ATTEMPTS="0" must be an integer from 1/);
    assert.doesNotMatch(bad.join('\n'), /short/);
    assert.deepEqual(
      problems({
        CONSOLE_OIDC_ISSUER: 'http://127.0.0.1:9000',
        CONSOLE_OIDC_CLIENT_ID: 'console',
        CONSOLE_OIDC_CLIENT_SECRET: 'a-secret-of-some-length',
      }),
      [],
      'plain http on this machine (a provider in a test)',
    );
  });
});
