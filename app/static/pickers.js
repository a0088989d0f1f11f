// Builder pickers: the team / agent fields of action steps and the definition's schedule become
// select lists of the directory (GET /teams, /agents, /schedules), and the warnings of a save (references that do not exist yet) are shown
// above the form. The builder keeps its own text inputs: a picker writes into its (hidden) input
// and fires "input", so the builder's state is updated exactly as typing would.
import { api, el } from "./core.js";

const PICKED = /(?:\.params\.(team|agent|to)|^(schedule))$/;
const directory = { team: [], agent: [], schedule: [] };
const loaded = Promise.all([
  api("GET", "/teams").then((p) => { directory.team = p.data; }).catch(() => {}),
  api("GET", "/agents").then((p) => { directory.agent = p.data; }).catch(() => {}),
  api("GET", "/schedules").then((p) => { directory.schedule = p.data; }).catch(() => {}),
]);

function kindOf(loc) {
  const [, key, schedule] = loc.match(PICKED);
  return schedule ? "schedule" : key === "team" ? "team" : "agent";
}

function emptyLabel(loc, kind) {
  if (kind === "schedule") return "None (no business hours)";
  return loc.endsWith(".to") ? "Default (supervisor of the assigned team)" : `Choose a ${kind}…`;
}

function upgrade(input) {
  if (input.dataset.picker || input.hidden) return;
  const loc = input.dataset.loc;
  const kind = kindOf(loc);
  const picker = el("select", { "data-loc": loc, class: "picker" });
  const entries = directory[kind];
  picker.append(el("option", { value: "" }, emptyLabel(loc, kind)));
  for (const entry of entries) picker.append(el("option", { value: entry.id }, `${entry.name} (${entry.id})`));
  if (input.value && !entries.some((e) => e.id === input.value)) {
    picker.append(el("option", { value: input.value }, `${input.value} (does not exist)`));
  }
  picker.value = input.value;
  if (input.hasAttribute("aria-describedby")) picker.setAttribute("aria-describedby", input.getAttribute("aria-describedby"));
  // The label points at the picker now; the text input stays as the builder's state holder.
  picker.id = input.id;
  input.id = `${input.id}-text`;
  input.dataset.picker = "1";
  delete input.dataset.loc;
  input.hidden = true;
  picker.addEventListener("change", () => {
    input.value = picker.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  input.after(picker);
}

function scan(root) {
  for (const input of root.querySelectorAll("input[data-loc]")) {
    if (PICKED.test(input.dataset.loc)) upgrade(input);
  }
}

const steps = document.getElementById("builder-form");
if (steps) {
  loaded.then(() => {
    scan(steps);
    new MutationObserver(() => scan(steps)).observe(steps, { childList: true, subtree: true });
  });
}

// Shown after a save or a load: a draft may name teams, agents or schedules not created yet.
export function showWarnings(warnings) {
  const box = document.getElementById("ref-warnings");
  if (!box) return;
  const list = warnings || [];
  box.hidden = !list.length;
  box.replaceChildren(
    el("strong", {}, "Not active-ready: "),
    el("span", {}, "this workflow names entries that do not exist yet. It saves as a draft, but activating it is refused until they exist."),
    el("ul", {}, ...list.map((w) => el("li", {}, w.message))),
  );
}
