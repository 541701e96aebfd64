// What the tests of the job summary (src/summary*.test.ts) share: reading the Markdown as GitHub does.
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

/** The Markdown as GitHub's Markdown (GFM) renders it, before its HTML sanitizer: raw HTML and any link kept. */
export const toHtml = (markdown: string): string =>
  micromark(markdown, {
    allowDangerousHtml: true,
    allowDangerousProtocol: true,
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
  });

/** Body rows of the summary's tables (not their header and separator lines). */
export const tableRows = (markdown: string): string[] =>
  markdown.split('\n').filter((line) => /^\| (?!Person \||--- \|)/.test(line));
