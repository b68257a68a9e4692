// A short, readable name for a browser from its User-Agent header, so the
// sessions list says "Firefox on Windows" rather than forty tokens.

/** Checked in order: Edge and Opera also say Chrome, Chrome also says Safari. */
const browsers = /** @type {const} */ ([
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(HeadlessChrome|Chrome|CriOS)\//, 'Chrome'],
  [/\bChromium\//, 'Chromium'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
]);

/** Android and iOS before Linux and macOS, which they also claim. */
const systems = /** @type {const} */ ([
  [/\bAndroid\b/, 'Android'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]);

/**
 * @param {string} userAgent
 * @returns {{ browser: string | null, os: string | null }}
 */
export function describeUserAgent(userAgent) {
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1] ?? null;
  const os = systems.find(([pattern]) => pattern.test(userAgent))?.[1] ?? null;
  return { browser, os };
}
