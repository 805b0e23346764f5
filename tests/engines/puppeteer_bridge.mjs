// Drives Debian's firefox-esr over WebDriver BiDi with puppeteer-core, for tests/engines/drivers.py.
// One JSON command per stdin line, one JSON answer per stdout line: {ok: value} or {error: text}.
// Commands: {op: 'goto', url}, {op: 'run', script, arg} (script: a JS function's text, called with
// arg), {op: 'cookies'}, {op: 'reset'} (a fresh browser context: no cookies, no storage), {op: 'close'}.
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX_BIN || '/usr/bin/firefox-esr',
  headless: true,
});
let context = await browser.createBrowserContext();
let page = await context.newPage();

async function perform(command) {
  switch (command.op) {
    case 'goto':
      await page.goto(command.url, {waitUntil: 'load'});
      return null;
    case 'run':
      return await page.evaluate(`(${command.script})(${JSON.stringify(command.arg === undefined ? null : command.arg)})`);
    case 'cookies':
      return (await page.cookies()).map((c) => ({name: c.name, value: c.value, path: c.path, domain: c.domain,
        secure: c.secure, httpOnly: c.httpOnly, sameSite: c.sameSite || null,
        expiry: c.expires > 0 ? Math.round(c.expires) : null}));
    case 'reset':
      await context.close();
      context = await browser.createBrowserContext();
      page = await context.newPage();
      return null;
    case 'close':
      await browser.close();
      process.exit(0);
  }
  throw new Error(`unknown op ${command.op}`);
}

process.stdout.write(JSON.stringify({ok: 'ready'}) + '\n');
const lines = readline.createInterface({input: process.stdin});
for await (const line of lines) {
  let answer;
  try {
    const value = await perform(JSON.parse(line));
    answer = {ok: value === undefined ? null : value};
  } catch (error) {
    answer = {error: String(error && error.message || error)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
