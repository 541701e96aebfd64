// Which on-calls get which resources: the `rules` input (inline YAML or a workspace file), or simple mode
// (schedule-ids + resources + escalation-levels); and `user-map`. Text in, typed values or named problems out.
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { formatDuration, parseDuration } from './durations.js';
import { asciiLowerCase, commandArgumentProblem, forInputProblem, forLogLine } from './text.js';
import { WorkspaceFileError } from './workspace-files.js';

/** PagerDuty's own schedule ID for people an escalation policy targets directly (no schedule). */
export const DIRECT_TARGETS = 'null';

/**
 * Which on-calls get which resources. Schedules and escalation policies, when both are given, must both match.
 * An incident rule (`incidents`) has neither: it gives its resources to the assignees of matching open incidents.
 */
export interface Rule {
  name: string;
  schedules: string[]; // may hold PagerDuty's literal "null": people a policy targets directly
  escalationPolicies: string[];
  escalationLevels: number[]; // empty: every level
  resources: string[];
  incidents?: IncidentCondition;
}

export const INCIDENT_URGENCIES = ['high', 'low'] as const;
export const INCIDENT_STATUSES = ['triggered', 'acknowledged'] as const;
export type IncidentUrgency = (typeof INCIDENT_URGENCIES)[number];
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Which open incidents give access, for how long at a time, and whether the assignee must be on call too. */
export interface IncidentCondition {
  services: string[];
  urgencies: IncidentUrgency[];
  statuses: IncidentStatus[];
  windowMs: number; // incident-window: each grant reaches this far ahead, renewed while the incident is open
  requireOnCall: boolean; // only assignees on call in the escalation policy of the incident's service
}

const DEFAULT_INCIDENT_WINDOW = '2h';
// A grant shorter than a cron interval would lapse between runs; one over a day outlives any incident review.
const INCIDENT_WINDOW_LIMITS = { min: 5 * 60_000, max: 24 * 3_600_000 };

const RULE_KEYS = [
  'name',
  'schedules',
  'escalation-policies',
  'escalation-levels',
  'resources',
  'incidents',
  'incident-window',
  'require-on-call',
];
const INCIDENT_KEYS = ['services', 'urgencies', 'statuses'];
/** PagerDuty's IDs: letters and digits (PABC123); checked before one is used or named. */
export const PAGERDUTY_ID = /^[A-Za-z0-9]{2,32}$/;

/** Returns the rules, or the problems (each naming the rule and its line) when there are any. */
export function parseRules(text: string, where: string): { rules: Rule[]; problems: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined) =>
    node?.range ? `line ${lineCounter.linePos(node.range[0]).line}` : 'unknown line';
  if (doc.errors.length > 0) {
    return {
      rules: [],
      problems: doc.errors.map(
        (e) =>
          `rules (${where}): invalid YAML at line ${e.linePos?.[0]?.line ?? '?'}: ${firstLine(e.message)}`,
      ),
    };
  }
  const root = doc.contents;
  if (!isSeq(root) || root.items.length === 0) {
    return {
      rules: [],
      problems: [
        `rules (${where}): expected a YAML list of rules, each with name, schedules or escalation-policies, and resources`,
      ],
    };
  }

  const problems: string[] = [];
  const rules: Rule[] = [];
  const names = new Set<string>();
  root.items.forEach((item, index) => {
    const node = item as Node;
    if (!isMap(node)) {
      problems.push(
        `rules (${where}): rule #${index + 1} (${lineOf(node)}) is not a mapping of keys such as name and resources`,
      );
      return;
    }
    const nameNode = node.get('name', true);
    const name =
      isScalar(nameNode) && String(nameNode.value).trim()
        ? String(nameNode.value).trim()
        : `rule #${index + 1}`;
    const label = `rules (${where}): rule "${name}" (${lineOf(node)})`;
    rules.push(parseRule(node, name, label, names, problems));
  });
  return { rules, problems };
}

/** One rule's keys, each checked; `label` names the rule and its line in every problem. */
function parseRule(node: YAMLMap, name: string, label: string, names: Set<string>, problems: string[]): Rule {
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!RULE_KEYS.includes(key)) {
      problems.push(`${label}: unknown key "${key}"; use ${RULE_KEYS.join(', ')}`);
    }
  }
  if (names.has(name))
    problems.push(`${label}: the name is used by another rule; give each rule its own name`);
  names.add(name);
  const list = (key: string) => listOf(node, key, label, problems);
  const schedules = list('schedules');
  const escalationPolicies = list('escalation-policies');
  const levelTexts = list('escalation-levels');
  const resources = list('resources');
  const incidents = parseIncidentCondition(node, label, problems);

  if (incidents) {
    if (schedules.length > 0 || escalationPolicies.length > 0 || levelTexts.length > 0) {
      problems.push(
        `${label}: an incident rule cannot also have schedules, escalation-policies or escalation-levels (it follows the incident's own escalation policy); put on-call access in a rule of its own`,
      );
    }
  } else if (!node.has('incidents') && schedules.length === 0 && escalationPolicies.length === 0) {
    problems.push(
      `${label}: give schedules or escalation-policies (or both) to say whose on-calls it covers, or incidents`,
    );
  }
  for (const id of [...schedules, ...escalationPolicies]) {
    if (!PAGERDUTY_ID.test(id))
      problems.push(`${label}: "${id}" is not a PagerDuty ID (letters and digits, e.g. PABC123)`);
  }
  const escalationLevels = levelTexts.map(Number);
  for (const [i, level] of escalationLevels.entries()) {
    if (!Number.isInteger(level) || level < 1) {
      problems.push(`${label}: escalation-levels "${levelTexts[i]}" must be whole numbers from 1`);
    }
  }
  if (resources.length === 0)
    problems.push(`${label}: resources is required: the strongDM resource names it grants`);
  return {
    name,
    schedules: [...new Set(schedules)],
    escalationPolicies: [...new Set(escalationPolicies)],
    escalationLevels: [...new Set(escalationLevels)],
    resources: [...new Set(resources)],
    ...(incidents ? { incidents } : {}),
  };
}

/** A key's value as a list of plain values (a single value is a list of one); [] when absent. */
function listOf(map: YAMLMap, key: string, label: string, problems: string[]): string[] {
  const value = map.get(key, true) as Node | undefined;
  if (value === undefined || value === null) return [];
  const items = isSeq(value) ? value.items : [value];
  if (items.some((entry) => !isScalar(entry) || entry.value === null || typeof entry.value === 'object')) {
    problems.push(`${label}: ${key} must be a list of plain values`);
    return [];
  }
  return items.map((entry) => String((entry as Scalar).value).trim()).filter((s) => s !== '');
}

/** `incidents`, `incident-window` and `require-on-call`; undefined for an on-call rule. */
function parseIncidentCondition(
  node: YAMLMap,
  label: string,
  problems: string[],
): IncidentCondition | undefined {
  const condition = node.get('incidents', true) as Node | undefined;
  const windowNode = node.get('incident-window', true) as Node | undefined;
  const requireNode = node.get('require-on-call', true) as Node | undefined;
  if (condition === undefined || condition === null || (isScalar(condition) && condition.value === null)) {
    if (node.has('incidents'))
      problems.push(`${label}: incidents needs services, e.g. incidents: { services: [PABC123] }`);
    else if (windowNode !== undefined || requireNode !== undefined) {
      problems.push(`${label}: incident-window and require-on-call belong to a rule with incidents`);
    }
    return undefined;
  }
  if (!isMap(condition)) {
    problems.push(`${label}: incidents must be a mapping, e.g. incidents: { services: [PABC123] }`);
    return undefined;
  }
  for (const pair of condition.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!INCIDENT_KEYS.includes(key))
      problems.push(`${label}: unknown key "incidents.${key}"; use ${INCIDENT_KEYS.join(', ')}`);
  }
  const list = (key: string) => listOf(condition, key, `${label}: incidents`, problems);
  const services = [...new Set(list('services'))];
  if (services.length === 0)
    problems.push(`${label}: incidents.services is required: the PagerDuty service IDs (e.g. PSVC123)`);
  for (const id of services) {
    if (!PAGERDUTY_ID.test(id))
      problems.push(`${label}: incidents.services "${id}" is not a PagerDuty ID (letters and digits)`);
  }
  const urgencies = choices(condition, 'urgencies', INCIDENT_URGENCIES, label, problems);
  const statuses = choices(condition, 'statuses', INCIDENT_STATUSES, label, problems);
  return {
    services,
    urgencies,
    statuses,
    windowMs: incidentWindow(windowNode, label, problems),
    requireOnCall: requireOnCall(requireNode, label, problems),
  };
}

/** `incidents.<key>`: each one of `allowed`; all of them when the key is left out, never when it is an empty list. */
function choices<T extends string>(
  condition: YAMLMap,
  key: string,
  allowed: readonly T[],
  label: string,
  problems: string[],
): T[] {
  const known = problems.length;
  const values = listOf(condition, key, `${label}: incidents`, problems);
  if (values.length === 0 && problems.length === known && isSeq(condition.get(key, true))) {
    problems.push(`${label}: incidents.${key} is empty; leave it out to mean all, or name at least one`);
  }
  return oneOf(values, allowed, `${label}: incidents.${key}`, problems);
}

/** The values, each one of `allowed`; all of them when none is given. */
function oneOf<T extends string>(
  values: string[],
  allowed: readonly T[],
  label: string,
  problems: string[],
): T[] {
  if (values.length === 0) return [...allowed];
  for (const value of values) {
    if (!(allowed as readonly string[]).includes(value)) {
      const why = value === 'resolved' ? ' (a resolved incident gives no access)' : '';
      problems.push(`${label} "${forInputProblem(value)}" is not one of ${allowed.join(', ')}${why}`);
    }
  }
  return [...new Set(values.filter((value): value is T => (allowed as readonly string[]).includes(value)))];
}

function incidentWindow(value: Node | undefined, label: string, problems: string[]): number {
  if (value !== undefined && value !== null && (!isScalar(value) || value.value === null)) {
    problems.push(`${label}: incident-window must be one duration such as ${DEFAULT_INCIDENT_WINDOW}`);
    return parseDuration(DEFAULT_INCIDENT_WINDOW) as number;
  }
  const text = isScalar(value) ? String(value.value) : DEFAULT_INCIDENT_WINDOW;
  const ms = parseDuration(text);
  const { min, max } = INCIDENT_WINDOW_LIMITS;
  if (ms === undefined || ms < min || ms > max) {
    problems.push(
      `${label}: incident-window "${forInputProblem(text)}" must be a duration from ${formatDuration(min)} to ${formatDuration(max)}, e.g. ${DEFAULT_INCIDENT_WINDOW}`,
    );
    return parseDuration(DEFAULT_INCIDENT_WINDOW) as number;
  }
  return ms;
}

function requireOnCall(value: Node | undefined, label: string, problems: string[]): boolean {
  if (value === undefined || value === null) return true;
  if (isScalar(value) && typeof value.value === 'boolean') return value.value;
  problems.push(`${label}: require-on-call must be true or false`);
  return true;
}

/**
 * `user-map`: lines `pagerduty-email-or-user-id: strongdm-email` for people whose emails differ.
 * Keys are matched case-insensitively (emails) or exactly (user IDs); the result is keyed by the lower-cased key.
 */
export function parseUserMap(text: string): { userMap: Map<string, string>; problems: string[] } {
  const userMap = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon).trim() : '';
    const value = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (!key || !value) {
      problems.push(`user-map line ${index + 1}: write "pagerduty-email-or-user-id: strongdm-email"`);
      return;
    }
    if (!/^[^\s@]+@[^\s@]+$/.test(value) || value.startsWith('-')) {
      problems.push(`user-map line ${index + 1}: "${value.slice(0, 80)}" is not an email address`);
      return;
    }
    if (userMap.has(asciiLowerCase(key))) {
      problems.push(`user-map line ${index + 1}: "${key.slice(0, 80)}" is mapped twice`);
      return;
    }
    userMap.set(asciiLowerCase(key), value);
  });
  return { userMap, problems };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** Splits a list input on commas and newlines, trims, drops empties and repeats (first occurrence wins). */
export function parseList(value: string): string[] {
  const items = value
    .split(/[,\n\r]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return [...new Set(items)];
}

/** `rules` (inline YAML or a workspace path to a YAML file), or simple mode: schedule-ids + resources. */
export function readRules(
  getInput: (name: string) => string,
  readWorkspaceFile: (relativePath: string) => string,
  problems: string[],
): { rules: Rule[]; simpleMode: boolean } {
  const rulesText = getInput('rules').trim();
  const scheduleIds = parseList(getInput('schedule-ids'));
  const resources = parseList(getInput('resources'));
  const levelsText = getInput('escalation-levels').trim();

  if (rulesText) {
    if (scheduleIds.length > 0 || resources.length > 0 || levelsText) {
      problems.push(
        'rules cannot be combined with schedule-ids, resources or escalation-levels: put those into the rules, or drop rules',
      );
    }
    let yamlText = rulesText;
    let where = 'inline';
    if (!rulesText.includes('\n') && /\.ya?ml$/i.test(rulesText)) {
      where = rulesText;
      try {
        yamlText = readWorkspaceFile(rulesText);
      } catch (error) {
        problems.push(
          `rules: cannot read "${forInputProblem(rulesText)}" in the workspace: ${whyUnreadable(error)}`,
        );
        return { rules: [], simpleMode: false };
      }
    }
    const parsed = parseRules(yamlText, where);
    problems.push(...parsed.problems);
    for (const rule of parsed.rules) checkResources(`rules: rule "${rule.name}"`, rule.resources, problems);
    return { rules: parsed.rules, simpleMode: false };
  }

  return readSimpleMode(scheduleIds, resources, levelsText, problems);
}

/** Simple mode: one rule, "default", from schedule-ids, resources and escalation-levels. */
function readSimpleMode(
  scheduleIds: string[],
  resources: string[],
  levelsText: string,
  problems: string[],
): { rules: Rule[]; simpleMode: boolean } {
  if (scheduleIds.length === 0) {
    problems.push(
      'schedule-ids is required (or rules): list PagerDuty schedule IDs (e.g. PABC123), separated by commas or lines',
    );
  }
  for (const id of scheduleIds) {
    // `null` is PagerDuty's own value for people an escalation policy targets directly (no schedule).
    if (id !== DIRECT_TARGETS && !/^[A-Za-z0-9]{2,32}$/.test(id)) {
      problems.push(
        `schedule-ids: "${forInputProblem(id)}" is not a PagerDuty schedule ID; IDs are letters and digits such as PABC123 (find it in the schedule's URL)`,
      );
    }
  }
  if (resources.length === 0) {
    problems.push(
      'resources is required (or rules): list strongDM resource names (e.g. prod-postgres), separated by commas or lines',
    );
  }
  checkResources('resources', resources, problems);
  const escalationLevels = parseList(levelsText).map(Number);
  if (escalationLevels.some((level) => !Number.isInteger(level) || level < 1)) {
    problems.push(
      `escalation-levels: "${forInputProblem(levelsText)}" must be whole numbers from 1, e.g. 1, 2`,
    );
  }
  return {
    rules: [{ name: 'default', schedules: scheduleIds, escalationPolicies: [], escalationLevels, resources }],
    simpleMode: true,
  };
}

function checkResources(label: string, resources: string[], problems: string[]): void {
  for (const resource of resources) {
    const reason = commandArgumentProblem(resource);
    if (reason)
      problems.push(
        `${label}: resource "${forInputProblem(resource)}" ${reason}; use the name strongDM shows`,
      );
  }
}

const RULES_FILE_FIXES: Record<WorkspaceFileError['code'], string> = {
  missing: 'check out the repository first (actions/checkout), or fix the path',
  outside:
    'point rules at a file inside the checked-out repository (a symlink must not lead out of the workspace)',
  type: 'point rules at a regular YAML file',
  size: 'a rules file is a short YAML file; check that rules names the right one',
};

/** Why a rules file cannot be read, and the fix; never any of its content. */
function whyUnreadable(error: unknown): string {
  if (error instanceof WorkspaceFileError) return `it ${error.reason}; ${RULES_FILE_FIXES[error.code]}`;
  return `${forLogLine(errorMessage(error), 200)}; check out the repository first, or fix the path`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
