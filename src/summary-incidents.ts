// How an incident grant's incident is shown: its number linked to PagerDuty, its title and service. Both come from
// PagerDuty and are untrusted: stripped of control characters (forLogLine), escaped for Markdown (forMarkdownCell);
// the link goes only to an https address (or http to this machine), with nothing in it that could end the link.
import { forLogLine, forMarkdownCell } from './text.js';
import type { IncidentRef, ReportRow } from './types.js';
import { isAllowedUrl } from './urls.js';

/** "#123", PagerDuty's incident number; anything but a whole number (a tampered ledger) shows as "#?". */
export function incidentNumber(incident: IncidentRef): string {
  const { number } = incident;
  return `#${Number.isSafeInteger(number) && number > 0 ? number : '?'}`;
}

/** "#123 Checkout latency above 2s · Payments API", plain text in one line, the title and service cut. */
export function incidentLabel(incident: IncidentRef, titleChars: number, serviceChars: number): string {
  const title = forLogLine(incident.title, titleChars);
  const service = forLogLine(incident.serviceName || incident.serviceId, serviceChars);
  return [`${incidentNumber(incident)}${title ? ` ${title}` : ''}`, service].filter(Boolean).join(' · ');
}

/** What a host may look like in a link: a name, an IPv4 or a bracketed IPv6 address, and a port. */
const LINK_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?$/;

/**
 * An address from outside (PagerDuty's html_url) as a Markdown link destination, or undefined when it is not to be
 * linked: only https, or plain http to this machine (urls.ts); no user, password, query or fragment (they can carry
 * credentials); every character of the path other than letters, digits and "-._~/%" percent-encoded, so that
 * nothing in it ends the link, the table cell or the line.
 */
export function linkDestination(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!isAllowedUrl(parsed) || !LINK_HOST.test(parsed.host)) return undefined;
  const path = parsed.pathname.replace(
    /[^A-Za-z0-9\-._~/%]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `${parsed.protocol}//${parsed.host}${path}`;
}

// The Source column has room for a schedule's name (~25 characters) and the level: an incident's number and service
// take about as much, so its title goes in the link's tooltip (the step log and the `plan` output have it in full).
const INCIDENT_TOOLTIP_CHARS = 100;

/**
 * `[#123](https://…/incidents/Q1 "Checkout latency above 2s")`: the number linked to PagerDuty, with the title as
 * the link's tooltip, taking no room in the table; the number alone when the address may not be linked. The title is
 * escaped as a cell's text, which also keeps it inside the quoted link title: no '"' (an entity now), no lone
 * backslash, no newline.
 */
export function incidentLink(incident: IncidentRef): string {
  const text = forMarkdownCell(incidentNumber(incident));
  const destination = linkDestination(incident.url);
  if (destination === undefined) return text;
  const title = forMarkdownCell(forLogLine(incident.title, INCIDENT_TOOLTIP_CHARS));
  return `[${text}](${destination}${title ? ` "${title}"` : ''})`;
}

const MAX_LISTED_INCIDENTS = 20;
const INCIDENT_TITLE_CHARS = 200;

/**
 * The incidents behind the rows, each once with its title in full (the tables have room only for the number and
 * service): "- [#123](…) Checkout latency above 2s · Payments API".
 */
export function incidentList(rows: ReportRow[]): string[] {
  const byId = new Map<string, IncidentRef>();
  for (const row of rows) {
    const { incident } = row.source;
    if (incident && !byId.has(incident.id)) byId.set(incident.id, incident);
  }
  if (byId.size === 0) return [];
  const incidents = [...byId.values()].sort((a, b) => a.number - b.number);
  const lines = incidents.slice(0, MAX_LISTED_INCIDENTS).map((incident) => {
    const title = forMarkdownCell(forLogLine(incident.title, INCIDENT_TITLE_CHARS));
    const service = forMarkdownCell(forLogLine(incident.serviceName || incident.serviceId, 80));
    return `- ${incidentLink(incident)}${title ? ` ${title}` : ''} · ${service}`;
  });
  const more = incidents.length - lines.length;
  return [
    'PagerDuty incidents behind these grants:',
    '',
    ...lines,
    ...(more > 0 ? [`- and ${more} more (the step log and the \`plan\` output have every one)`] : []),
    '',
  ];
}
