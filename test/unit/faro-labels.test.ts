import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  OTHER_PAGE,
  PageRoutes,
  UNKNOWN_PAGE,
  errorTypeLabel,
  normalOrigin,
  routeProblem,
} from '../../control-plane/src/faro/labels.ts';
import { RateLimiter } from '../../control-plane/src/faro/rate-limit.ts';

const ROUTES = ['/', '/chat', '/appointments/:id', '/help/*'];

describe('Faro label bounding', () => {
  const pages = new PageRoutes(ROUTES);

  it('labels a page URL by its route template, ignoring host, query string and fragment', () => {
    assert.equal(pages.label('https://alpha.example.test/'), '/');
    assert.equal(
      pages.label('https://alpha.example.test/chat?patient=Jane%20Doe&dob=1980-01-01#top'),
      '/chat',
    );
    assert.equal(pages.label('https://alpha.example.test/chat/'), '/chat');
    assert.equal(pages.label('http://127.0.0.1:4000/appointments/8812-jane-doe'), '/appointments/:id');
    assert.equal(pages.label('/help/billing/insurance?q=x'), '/help/*');
    assert.equal(pages.label('/%63hat'), '/chat', 'percent-encoded literals match');
  });

  it('puts every other path in "other" and a missing or unparseable URL in "unknown"', () => {
    assert.equal(pages.label('https://alpha.example.test/patients/jane-doe'), OTHER_PAGE);
    assert.equal(pages.label('/appointments'), OTHER_PAGE);
    assert.equal(pages.label('/appointments/1/cancel'), OTHER_PAGE);
    assert.equal(pages.label('/help'), OTHER_PAGE, '/help/* needs a segment below /help');
    assert.equal(pages.label(undefined), UNKNOWN_PAGE);
    assert.equal(pages.label(''), UNKNOWN_PAGE);
    assert.equal(pages.label('http://[bad'), UNKNOWN_PAGE);
  });

  it('never returns anything but a template, "other" or "unknown", whatever the URL (property)', () => {
    const allowed = new Set(pages.labels());
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.string({ maxLength: 300 }),
          fc
            .constantFrom('/chat', '/appointments/x', '/help/a/b')
            .chain((p) => fc.string({ maxLength: 80 }).map((tail) => p + tail)),
        ),
        (url) => {
          const label = pages.label(url);
          seen.add(label);
          assert.ok(allowed.has(label), `${JSON.stringify(url)} -> ${label}`);
          assert.ok(!label.includes('?') && !label.includes('#') && label.length <= 200);
        },
      ),
      { numRuns: 500 },
    );
    // However many distinct URLs went in, at most templates + 2 label values came out.
    assert.ok(seen.size <= ROUTES.length + 2);
  });

  it('keeps exception types to JavaScript built-ins, the SDK own names and "other"', () => {
    assert.equal(errorTypeLabel('TypeError'), 'TypeError');
    assert.equal(errorTypeLabel('UnhandledRejection'), 'UnhandledRejection');
    assert.equal(errorTypeLabel(undefined), 'other');
    assert.equal(errorTypeLabel('PatientJaneDoeNotFoundError'), 'other');
    fc.assert(
      fc.property(fc.string(), (t) => {
        const l = errorTypeLabel(t);
        assert.ok(l === 'other' || l === t);
        assert.ok(l.length <= 20);
      }),
    );
  });

  it('checks route templates and origins as an operator writes them', () => {
    for (const ok of ROUTES) assert.equal(routeProblem(ok), undefined, ok);
    assert.match(routeProblem('chat')!, /start with \//);
    assert.match(routeProblem('/*')!, /every page/);
    assert.match(routeProblem('/a/*/b')!, /final/);
    assert.match(routeProblem('/chat?x=1')!, /literal/);
    assert.equal(normalOrigin('https://Alpha.Example.test'), 'https://alpha.example.test');
    assert.equal(normalOrigin('https://alpha.example.test:443/'), 'https://alpha.example.test');
    assert.equal(normalOrigin('http://localhost:3000'), 'http://localhost:3000');
    for (const bad of [
      'https://a.test/path',
      'https://a.test/?q',
      'ftp://a.test',
      'https://u:p@a.test',
      'a.test',
    ])
      assert.equal(normalOrigin(bad), undefined, bad);
  });
});

describe('Faro rate limit', () => {
  it('lets a burst through, then one per 1/rate seconds, per key, with the wait in whole seconds', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.take('a')),
      [0, 0, 0],
    );
    assert.equal(limiter.take('a'), 1, 'burst used: wait');
    assert.equal(limiter.take('b'), 0, 'another key has its own bucket');
    now += 500; // half a second at 2/s: one token back
    assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('a'), 1);
    now += 10_000; // refills to the burst, not beyond
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.take('a')),
      [0, 0, 0, 1],
    );
  });
});
