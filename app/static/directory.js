// The directory pages (teams, agents): a list, and one form (in a dialog) that creates or
// replaces an entry with PUT /{kind}/{id}. Errors come from the API, shown in the form. Schedules
// have their own page (schedules.js): a weekly grid is more than a few text fields.
import { api, canWrite, el, toast } from "./core.js";

const kind = JSON.parse(document.getElementById("dir-kind").textContent);
const list = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);

// Per kind: the columns of the list, the form's fields, and how a form becomes a PUT body.
const KINDS = {
  teams: {
    columns: [["Id", (t) => el("span", { class: "mono" }, t.id)], ["Name", (t) => t.name], ["Members", (t) => t.members.join(", ") || "—"], ["Supervisor", (t) => t.supervisor || "—"]],
    fields: [["name", "Name", "text"], ["members", "Members (agent ids, comma-separated)", "text"], ["supervisor", "Supervisor (agent id)", "text"]],
    toForm: (t) => ({ name: t.name, members: t.members.join(", "), supervisor: t.supervisor || "" }),
    toBody: (f) => ({ name: f.name, members: list(f.members), supervisor: f.supervisor || null }),
  },
  agents: {
    columns: [["Id", (a) => el("span", { class: "mono" }, a.id)], ["Name", (a) => a.name], ["Email", (a) => a.email || "—"], ["Available", (a) => (a.available ? "yes" : "no")]],
    fields: [["name", "Name", "text"], ["email", "Email", "email"], ["available", "Available", "checkbox"]],
    toForm: (a) => ({ name: a.name, email: a.email || "", available: a.available }),
    toBody: (f) => ({ name: f.name, email: f.email || null, available: f.available }),
  },
};
const spec = KINDS[kind];
const dialog = document.getElementById("dir-dialog");
const form = document.getElementById("dir-form");
const formError = document.getElementById("dir-form-error");
let editing = null;

function field([name, label, type], value) {
  const id = `f-${name}`;
  if (type === "checkbox") {
    return el("label", { class: "checks", for: id }, el("input", { id, name, type: "checkbox", checked: value ? true : undefined }), ` ${label}`);
  }
  const input = el("input", { id, name, type });
  input.value = value ?? "";
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

function open(entry) {
  editing = entry;
  formError.hidden = true;
  document.getElementById("dir-form-title").textContent = entry ? `Edit ${entry.id}` : `New ${kind.slice(0, -1)}`;
  const values = entry ? spec.toForm(entry) : { available: true };
  const fields = entry ? [] : [field(["id", "Id", "text"], "")];
  document.getElementById("dir-fields").replaceChildren(...fields, ...spec.fields.map((f) => field(f, values[f[0]])));
  dialog.showModal();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    data[element.name] = element.type === "checkbox" ? element.checked : element.value.trim();
  }
  const id = editing ? editing.id : data.id;
  try {
    if (!id) throw new Error("Give it an id.");
    await api("PUT", `/${kind}/${encodeURIComponent(id)}`, spec.toBody(data));
    dialog.close();
    toast(`Saved ${id}.`, "success");
    await load();
  } catch (err) {
    const details = (err.details || []).map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    formError.textContent = details ? `${err.message} (${details})` : err.message;
    formError.hidden = false;
  }
});
document.getElementById("dir-cancel").addEventListener("click", () => dialog.close());
document.getElementById("dir-new").addEventListener("click", () => open(null));

async function load() {
  const body = document.getElementById("dir-body");
  document.getElementById("dir-head").replaceChildren(el("tr", {}, ...spec.columns.map(([label]) => el("th", { scope: "col" }, label)), el("th", { scope: "col" }, el("span", { class: "sr-only" }, "Edit"))));
  try {
    const page = await api("GET", `/${kind}`);
    const rows = page.data.map((entry) => el("tr", { dataset: { id: entry.id } },
      ...spec.columns.map(([, cell]) => el("td", {}, cell(entry))),
      el("td", { class: "cell-actions" }, el("button", {
        type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Edit ${entry.id}`,
        disabled: !canWrite || undefined, onclick: () => open(entry),
      }, "Edit"))));
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: String(spec.columns.length + 1), class: "muted" }, `No ${kind} yet.`))]));
  } catch (err) {
    body.replaceChildren(el("tr", {}, el("td", {}, el("div", { class: "alert alert-error" }, err.message))));
  }
}
load();
