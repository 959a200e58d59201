/**
 * `1 request`, `2 requests`, `1,024 tokens`: a count with its noun in the right number. The count is
 * grouped for English readers; pass the plural when it is not the singular plus "s".
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : pluralForm}`;
}
