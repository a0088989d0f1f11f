// Version history of one workflow: who saved each version and what changed, a side-by-side
// diff of any two versions, and Restore (saves that version's definition as a new version).
import { api, canWrite, confirmDialog, el, fmtDateTime, relTime, statusBadge, toast } from "./core.js";

const workflowId = JSON.parse(document.getElementById("workflow-id").textContent);
const body = document.getElementById("versions-body");
const left = document.getElementById("diff-left");
const right = document.getElementById("diff-right");
const diffBox = document.getElementById("diff");
let versions = [];
let current = null;

const lines = (v) => JSON.stringify(v.definition, null, 2).split("\n");

// Longest common subsequence of two line lists -> rows of [left line | null, right line | null].
function diffRows(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { rows.push([a[i], b[j], "same"]); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) { rows.push([null, b[j], "added"]); j++; }
    else { rows.push([a[i], null, "removed"]); i++; }
  }
  return aligned(rows);
}

// Lines removed and added at the same place share rows, so a changed line sits beside its
// new text instead of below it.
function aligned(rows) {
  const out = [];
  let removed = [], added = [];
  const flush = () => {
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      out.push([removed[k] ?? null, added[k] ?? null, "changed"]);
    }
    removed = []; added = [];
  };
  for (const [l, r, kind] of rows) {
    if (kind === "removed") removed.push(l);
    else if (kind === "added") added.push(r);
    else { flush(); out.push([l, r, kind]); }
  }
  flush();
  return out;
}

function side(rows, index, kind) {
  const pane = el("ol", { class: "diff-pane", "aria-label": kind === "removed" ? "Older version" : "Newer version" });
  for (const row of rows) {
    const text = row[index];
    const changed = row[2] === "changed" && text !== null;
    pane.append(el("li", { class: changed ? `diff-line diff-${kind}` : text === null ? "diff-line diff-gap" : "diff-line" },
      changed ? el("span", { class: "sr-only" }, kind === "removed" ? "removed: " : "added: ") : null,
      text ?? ""));
  }
  return pane;
}

function renderDiff() {
  const a = versions.find((v) => String(v.version) === left.value);
  const b = versions.find((v) => String(v.version) === right.value);
  if (!a || !b) { diffBox.replaceChildren(); return; }
  const rows = diffRows(lines(a), lines(b));
  const changes = rows.filter((r) => r[2] !== "same").length;
  document.getElementById("diff-summary").textContent = changes
    ? `v${a.version} → v${b.version}: ${changes} changed line${changes === 1 ? "" : "s"}`
    : `v${a.version} and v${b.version} are the same definition.`;
  diffBox.replaceChildren(side(rows, 0, "removed"), side(rows, 1, "added"));
}

async function restore(version) {
  const dialog = document.getElementById("confirm-restore");
  const answer = await confirmDialog(dialog, `Version ${version.version} ("${version.definition.name}", ${version.definition.status}) will be saved as version ${current + 1}.`);
  if (answer !== "restore") return;
  try {
    const wf = await api("POST", `/workflows/${encodeURIComponent(workflowId)}/versions/${version.version}/restore`, undefined);
    toast(`Version ${version.version} restored as version ${wf.version}.`, "success");
    await load();
  } catch (err) {
    toast(err.message, "error");
  }
}

function row(version) {
  const isCurrent = version.version === current;
  const button = el("button", {
    type: "button", class: "btn btn-secondary btn-sm",
    disabled: !canWrite || isCurrent || undefined,
    title: isCurrent ? "This is the current version" : !canWrite ? "Viewers cannot restore" : undefined,
    "aria-label": `Restore version ${version.version}`,
    onclick: () => restore(version),
  }, "Restore");
  const compare = el("button", {
    type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Compare version ${version.version} with the current one`,
    onclick: () => { left.value = String(version.version); right.value = String(current); renderDiff(); diffBox.scrollIntoView({ block: "nearest" }); },
  }, "Compare");
  return el("tr", { dataset: { version: String(version.version) } },
    el("td", {}, el("strong", {}, `v${version.version}`), " ", statusBadge(version.definition.status), isCurrent ? el("span", { class: "badge badge-cat" }, "current") : null),
    el("td", { title: fmtDateTime(version.created_at) }, relTime(version.created_at)),
    el("td", {}, version.changed_by || el("span", { class: "muted" }, "—")),
    el("td", { class: "version-summary" }, version.summary),
    el("td", { class: "cell-actions" }, compare, button));
}

function options(select, chosen) {
  select.replaceChildren(...[...versions].reverse().map((v) => el("option", { value: String(v.version), selected: v.version === chosen || undefined }, `v${v.version} · ${v.summary}`)));
}

async function load() {
  try {
    const [wf, page] = await Promise.all([
      api("GET", `/workflows/${encodeURIComponent(workflowId)}`),
      api("GET", `/workflows/${encodeURIComponent(workflowId)}/versions`),
    ]);
    document.getElementById("crumb-wf").textContent = wf.name;
    document.getElementById("versions-title").textContent = `Version history · ${wf.name}`;
    versions = page.data;
    current = wf.version;
    body.replaceChildren(...[...versions].reverse().map(row));
    options(left, Math.max(1, current - 1));
    options(right, current);
    renderDiff();
  } catch (err) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "5" }, el("div", { class: "alert alert-error" }, err.message))));
  }
}

left.addEventListener("change", renderDiff);
right.addEventListener("change", renderDiff);
load();
