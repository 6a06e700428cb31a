/**
 * The control API's reserved path prefix, shared by both emulators. Neither iPaaS.com nor OpenAI
 * serves anything under it, so control calls can never be mistaken for emulated API traffic.
 */
export const CONTROL_PREFIX = '/__emulator/';

/** True for `/__emulator` and anything below it (query ignored, case-insensitive like the iPaaS router). */
export function isControlPath(url: string): boolean {
  const path = (url.split('?')[0] ?? url).toLowerCase();
  return path === '/__emulator' || path.startsWith(CONTROL_PREFIX);
}

/** `http://host:port/__emulator/` for an emulator base URL (with or without a path such as /v1). */
export function controlUrlOf(baseUrl: string): string {
  return new URL(CONTROL_PREFIX, baseUrl).toString();
}
