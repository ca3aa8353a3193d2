/**
 * The console's header on a phone and on a laptop, in Debian's Chromium: on a narrow screen the links and
 * sign-out fold into a "Menu" (<details>, no script) that opens by keyboard and says whether it is expanded;
 * on a wide screen the links are shown as before. Checked with axe-core; screenshots in test/artifacts/console/.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Chromium } from '../helpers/chromium.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { browserSignedIn } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');

describe('the console header on a phone and on a laptop', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let browser: Chromium;
  let page: Page;

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
    });
    ({ browser, page } = await browserSignedIn(cp, sink, {
      email: 'ada@ops.example.test',
      name: 'Ada',
      role: 'admin',
    }));
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
  });

  const header = () => page.locator('header.top');
  const main = () => page.getByRole('navigation', { name: 'Main' });

  it('on a 375 px phone the links fold into a Menu that opens by keyboard, and the page starts near the top', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(cp.url + '/console/incidents');
    const menu = page.locator('summary', { hasText: 'Menu' });
    assert.ok(await menu.isVisible(), 'a Menu button is shown');
    assert.equal(await main().count(), 0, 'no link list takes the first screen');
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
    const closed = (await header().boundingBox())!.height;
    assert.ok(closed <= 72, `the closed header is ${closed} px tall`);
    const h1 = (await page.getByRole('heading', { name: 'Incidents', level: 1 }).boundingBox())!;
    assert.ok(h1.y < 140, `the page's heading starts at ${h1.y} px`);
    await screenshotAndAxe(page, ARTIFACTS, 'menu-phone-closed');

    // Keyboard: the skip link, then the Menu; Enter opens it, and the summary says it is expanded.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Menu');
    await page.keyboard.press('Enter');
    await main().waitFor();
    // An open <details> is what the browser announces as an expanded disclosure; the arrow is not read out.
    assert.equal(await page.locator('details.top-menu').getAttribute('open'), '');
    assert.match(await page.locator('details.top-menu').ariaSnapshot(), /^- group:\n {2}- text: Menu\n/);
    for (const name of ['Incidents', 'Fleet', 'On call', 'Escalation', 'Users', 'Tokens', 'Audit log'])
      assert.ok(await main().getByRole('link', { name, exact: true }).isVisible(), `${name} is in the menu`);
    assert.ok(await page.getByRole('button', { name: 'Sign out', exact: true }).isVisible());
    await screenshotAndAxe(page, ARTIFACTS, 'menu-phone-open');

    // The links work from the menu, and Tab reaches them in order after the Menu.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Incidents');
    await main().getByRole('link', { name: 'Fleet', exact: true }).click();
    await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
    assert.equal(await main().count(), 0, 'the menu is closed again on the next page');
  });

  it('on a laptop every link is shown in the header and there is no Menu button', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(cp.url + '/console/incidents');
    assert.equal(await page.locator('summary', { hasText: 'Menu' }).isVisible(), false);
    assert.equal(await main().count(), 1, 'one navigation landmark');
    for (const name of ['Incidents', 'Fleet', 'Maintenance', 'Reports', 'Status pages', 'Users', 'Audit log'])
      assert.ok(await main().getByRole('link', { name, exact: true }).isVisible(), `${name} is shown`);
    assert.equal(
      await main().getByRole('link', { name: 'Incidents', exact: true }).getAttribute('aria-current'),
      'page',
    );
    await screenshotAndAxe(page, ARTIFACTS, 'menu-desktop');
  });
});
