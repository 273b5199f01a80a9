/**
 * Switches for driving Debian's Chromium headless on a machine with a closed network (tests and the web
 * bench). Without the background-networking ones, Chromium tries Google's hosts at every start and its
 * connections are refused many at a time, which slowed a first launch on CI past a 10 s hook timeout;
 * --no-sandbox because CI runs as root.
 */
export const HEADLESS_CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
