/**
 * The OpenAI emulator's stand-in for "is this person known by imdb.com":
 * a small fixed list, so tests can assert exact TRUE/FALSE values.
 */
export const KNOWN_TO_FILM: readonly string[] = [
  'Keanu Reeves',
  'Meryl Streep',
  'Tom Hanks',
  'Zendaya Coleman',
  'Penélope Cruz',
  'Ken Watanabe',
];

export function isKnownToFilm(firstName: string | undefined, lastName: string | undefined): boolean {
  const full = `${firstName ?? ''} ${lastName ?? ''}`.trim().normalize('NFC').toLowerCase();
  return KNOWN_TO_FILM.some((n) => n.normalize('NFC').toLowerCase() === full);
}
