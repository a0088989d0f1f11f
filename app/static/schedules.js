// The schedules page (SPEC §2.3): the list with the hours in short and whether each is open now,
// and a form (in a dialog) with a weekly grid of open intervals per day, holidays, a public-holiday
// calendar and the IANA time zone. Saving is PUT /schedules/{id}; deleting a schedule that
// workflows use answers 409, shown with links to those workflows.
import { api, canWrite, confirmDialog, el, ICONS, prefix, svgIcon, toast } from "./core.js";

const DAYS = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
const SHORT = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"];
const NEW = () => ({
  name: "", timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/Berlin",
  hours: Object.fromEntries(Object.keys(DAYS).map((d) => [d, WEEKDAYS.includes(d) ? [["09:00", "17:00"]] : []])),
  holidays: [], holiday_calendar: null,
});

const body = document.getElementById("sch-body");
const dialog = document.getElementById("sch-dialog");
const form = document.getElementById("sch-form");
const formError = document.getElementById("sch-form-error");
const week = document.getElementById("sch-week");
const alertBox = document.getElementById("sch-alert");
const $ = (id) => document.getElementById(id);
let editing = null; // the schedule being edited (null: a new one)
let hours = {};

// Every IANA zone the browser knows, offered as suggestions (the API checks the name).
$("sch-zones").replaceChildren(...(Intl.supportedValuesOf?.("timeZone") || []).map((z) => el("option", { value: z })));

// ------------------------------------------------------------------ the list

// "Mon–Thu 09:00–17:30 · Fri 09:00–13:00, 14:00–17:00": consecutive days with the same hours.
function hoursSummary(h) {
  const text = (d) => (h[d] || []).map(([a, b]) => `${a}–${b}`).join(", ");
  const runs = [];
  for (const d of Object.keys(DAYS)) {
    const last = runs[runs.length - 1];
    if (last && last.text === text(d)) last.to = d;
    else runs.push({ from: d, to: d, text: text(d) });
  }
  const open = runs.filter((r) => r.text);
  if (!open.length) return "Never open";
  return open.map((r) => `${SHORT[r.from]}${r.to !== r.from ? `–${SHORT[r.to]}` : ""} ${r.text}`).join(" · ");
}

function nowCell(s) {
  if (s.open_now) return el("span", { class: "badge badge-active" }, "Open");
  if (!s.next_opening) return el("span", { class: "badge badge-draft" }, "Closed");
  const when = new Date(s.next_opening).toLocaleString(undefined, { timeZone: s.timezone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  return el("span", {}, el("span", { class: "badge badge-draft" }, "Closed"), el("span", { class: "hint", style: "display:block" }, `opens ${when}`));
}

async function load() {
  try {
    const page = await api("GET", "/schedules");
    const rows = page.data.map((s) => el("tr", { dataset: { id: s.id } },
      el("td", { class: "mono" }, s.id),
      el("td", {}, s.name),
      el("td", { "data-field": "hours" }, hoursSummary(s.hours)),
      el("td", {}, s.timezone),
      el("td", {}, [s.holidays.length ? `${s.holidays.length} date${s.holidays.length === 1 ? "" : "s"}` : "", s.holiday_calendar ? `${s.holidays.length ? " + " : ""}${s.holiday_calendar} public holidays` : ""].join("") || "—"),
      el("td", {}, nowCell(s)),
      el("td", { class: "cell-actions" },
        el("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Edit ${s.id}`, disabled: !canWrite || undefined, onclick: () => open(s) }, "Edit"),
        el("button", { type: "button", class: "btn btn-ghost btn-sm is-danger", "aria-label": `Delete ${s.id}`, disabled: !canWrite || undefined, onclick: () => remove(s) }, "Delete"))));
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "7", class: "muted" }, "No schedules yet."))]));
  } catch (err) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "7" }, el("div", { class: "alert alert-error" }, err.message))));
  }
}

// ------------------------------------------------------------------ delete

function showAlert(...children) {
  alertBox.replaceChildren(el("div", { class: "alert alert-error", role: "alert" }, ...children));
  alertBox.hidden = false;
  alertBox.scrollIntoView({ block: "nearest" });
}

async function remove(s) {
  alertBox.hidden = true;
  const answer = await confirmDialog($("sch-confirm-delete"), `“${s.name}” (${s.id}) will be deleted. Workflows can no longer name it.`);
  if (answer !== "delete") return;
  try {
    await api("DELETE", `/schedules/${encodeURIComponent(s.id)}`);
    toast(`Deleted ${s.id}.`, "success");
    await load();
  } catch (err) {
    if (err.status !== 409) { showAlert(`Could not delete ${s.id}: ${err.message}`); return; }
    // In use: name the workflows, each a link, so the admin can point them elsewhere first.
    const users = err.details.filter((d) => d.loc?.[0] === "workflow");
    showAlert(
      el("strong", {}, `${s.id} is still in use, so it was not deleted.`),
      el("span", {}, " Point these workflows at another schedule (or none) first:"),
      el("ul", { id: "sch-in-use" }, ...users.map((d) => el("li", {},
        el("a", { href: `${prefix}/workflows/${encodeURIComponent(d.loc[1])}` }, d.msg.replace(/ uses this schedule$/, ""))))));
  }
}

// ------------------------------------------------------------------ the form

function timeInput(day, i, end, value) {
  const input = el("input", {
    type: "text", class: "time-input", value, inputmode: "numeric", maxlength: "5", placeholder: end ? "17:00" : "09:00",
    "aria-label": `${DAYS[day]} ${end ? "closes" : "opens"}${hours[day].length > 1 ? ` (${i + 1})` : ""}`,
    dataset: { loc: `hours.${day}.${i}` },
  });
  input.addEventListener("input", () => { hours[day][i][end ? 1 : 0] = input.value.trim(); });
  return input;
}

function renderWeek() {
  week.replaceChildren(...Object.keys(DAYS).map((day) => {
    const list = hours[day];
    const slots = list.map((iv, i) => el("div", { class: "week-interval" },
      timeInput(day, i, false, iv[0]), el("span", { "aria-hidden": "true" }, "–"), timeInput(day, i, true, iv[1]),
      el("button", { type: "button", class: "btn btn-icon", "aria-label": `Remove ${DAYS[day]} hours${list.length > 1 ? ` ${i + 1}` : ""}`,
        onclick: () => { list.splice(i, 1); renderWeek(); } }, svgIcon(ICONS.x))));
    const add = el("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Add ${DAYS[day]} hours`, onclick: () => {
      list.push(list.length ? [list[list.length - 1][1], "24:00"] : ["09:00", "17:00"]);
      renderWeek();
      week.querySelector(`[data-day=${day}] .week-interval:last-of-type input`)?.focus();
    } }, svgIcon(ICONS.plus, 14), "Hours");
    const tools = [add];
    if (day === "mon") {
      tools.push(el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => {
        for (const d of WEEKDAYS.slice(1)) hours[d] = hours.mon.map((iv) => [...iv]);
        renderWeek();
      } }, "Copy to Tue–Fri"));
    }
    return el("div", { class: "week-day", role: "group", "aria-label": DAYS[day], dataset: { day, loc: `hours.${day}` } },
      el("span", { class: "week-day-name" }, DAYS[day]),
      el("div", { class: "week-intervals" }, ...(slots.length ? slots : [el("span", { class: "muted small" }, "Closed")])),
      el("div", { class: "week-tools" }, ...tools));
  }));
}

function open(s) {
  editing = s;
  const draft = s ? structuredClone(s) : NEW();
  hours = Object.fromEntries(Object.keys(DAYS).map((d) => [d, (draft.hours[d] || []).map((iv) => [...iv])]));
  clearErrors();
  $("sch-form-title").textContent = s ? `Edit ${s.id}` : "New schedule";
  $("sch-id-field").hidden = Boolean(s);
  $("sch-id").value = s ? s.id : "";
  $("sch-name").value = draft.name;
  $("sch-tz").value = draft.timezone;
  $("sch-cal").value = draft.holiday_calendar || "";
  $("sch-holidays").value = draft.holidays.join(", ");
  renderWeek();
  dialog.showModal();
  (s ? $("sch-name") : $("sch-id")).focus();
}

function clearErrors() {
  formError.hidden = true;
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

// Each API error next to what it names (its loc, less "body"), and all of them listed on top.
function showErrors(err) {
  clearErrors();
  const items = (err.details.length ? err.details : [{ loc: [], msg: err.message }]).map((d) => {
    const loc = (d.loc || []).filter((p) => p !== "body");
    for (let n = loc.length; n > 0; n -= 1) {
      const target = form.querySelector(`[data-loc="${CSS.escape(loc.slice(0, n).join("."))}"]`);
      if (target) { (target.matches("input,textarea") ? [target] : target.querySelectorAll("input")).forEach((x) => x.setAttribute("aria-invalid", "true")); break; }
    }
    const where = loc.map((p) => (typeof p === "number" ? `#${p + 1}` : DAYS[p] || p)).join(" › ");
    return el("li", {}, where ? `${where}: ` : "", d.msg.replace(/^Value error, /, ""));
  });
  formError.replaceChildren(el("strong", {}, err.details.length ? "Not saved: please fix the highlighted fields." : "Not saved."), el("ul", {}, ...items));
  formError.hidden = false;
  formError.scrollIntoView({ block: "nearest" });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = editing ? editing.id : $("sch-id").value.trim();
  if (!id) { showErrors({ message: "Give it an id.", details: [{ loc: ["id"], msg: "an id is needed" }] }); return; }
  const schedule = {
    name: $("sch-name").value.trim(),
    timezone: $("sch-tz").value.trim(),
    hours,
    holidays: $("sch-holidays").value.split(/[\s,]+/).filter(Boolean),
    holiday_calendar: $("sch-cal").value.trim().toUpperCase() || null,
  };
  $("sch-save").disabled = true;
  try {
    await api("PUT", `/schedules/${encodeURIComponent(id)}`, schedule);
    dialog.close();
    toast(editing ? `Saved ${id}. Deadlines already running stay as they are.` : `Created ${id}.`, "success");
    await load();
  } catch (err) {
    // A bad id is refused in the URL's path: shown at the Id field.
    showErrors(err.details.some((d) => d.loc?.[0] === "path") ? { ...err, details: err.details.map((d) => ({ ...d, loc: ["id"] })) } : err);
  } finally {
    $("sch-save").disabled = false;
  }
});
$("sch-cancel").addEventListener("click", () => dialog.close());
$("sch-new").addEventListener("click", () => open(null));
load();
