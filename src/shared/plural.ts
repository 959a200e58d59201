/** The noun in the number a count needs: `request` for 1, `requests` otherwise. */
export const nounFor = (count: number, singular: string, pluralForm = `${singular}s`): string =>
  count === 1 ? singular : pluralForm;

/**
 * `1 request`, `2 requests`, `1,024 tokens`: a count with its noun in the right number. The count is
 * grouped for English readers; pass the plural when it is not the singular plus "s".
 */
export const plural = (count: number, singular: string, pluralForm?: string): string =>
  `${count.toLocaleString('en-US')} ${nounFor(count, singular, pluralForm)}`;
