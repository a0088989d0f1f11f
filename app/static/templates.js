// The Templates gallery: tabs by category, one card per template, a preview dialog, and Use
// Template, which creates a draft and opens it in the builder.
import { api, canWrite, CATEGORY_LABELS, el, ICONS, prefix, svgIcon, toast, TRIGGER_LABELS } from "./core.js";
import { stepsPreview, triggerBlock } from "./describe.js";

const tabs = document.getElementById("tabs");
const gallery = document.getElementById("gallery");
const dialog = document.getElementById("preview");
const CATEGORY_ICONS = {
  customer_service: "M4 12a8 8 0 0 1 16 0v5a2 2 0 0 1-2 2h-2v-6h4M4 13h4v6H6a2 2 0 0 1-2-2z",
  sales: "M3 17l6-6 4 4 8-8M15 7h6v6",
  operations: "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2",
};
let templates = [];
let current = new URLSearchParams(location.search).get("category") || "all";
let previewing = null;

async function useTemplate(id, button) {
  if (button) button.disabled = true;
  try {
    const wf = await api("POST", `/templates/${encodeURIComponent(id)}/use`, {});
    location.assign(`${prefix}/workflows/${encodeURIComponent(wf.id)}?created=template`);
  } catch (err) {
    toast(`Could not use the template: ${err.message}`, "error");
    if (button) button.disabled = false;
  }
}

async function preview(card) {
  previewing = card;
  dialog.dataset.templateId = card.id; // read by backtest.js
  document.getElementById("preview-title").textContent = card.name;
  document.getElementById("preview-summary").textContent = card.summary;
  const body = document.getElementById("preview-body");
  body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  dialog.showModal();
  try {
    const tpl = await api("GET", `/templates/${encodeURIComponent(card.id)}`);
    const def = tpl.definition;
    body.replaceChildren(
      el("h3", { style: "margin-bottom:.5rem" }, "When"), triggerBlock(def.trigger),
      el("h3", { style: "margin:.8rem 0 .5rem" }, `Then (${def.steps.length} steps)`), stepsPreview(def.steps),
      el("details", { style: "margin-top:.8rem" }, el("summary", {}, "Definition (JSON)"),
        el("pre", { class: "json" }, JSON.stringify(def, null, 2))));
  } catch (err) {
    body.replaceChildren(el("div", { class: "alert alert-error" }, err.message));
  }
}

function tplCard(t) {
  return el("article", { class: "card tpl-card", "aria-labelledby": `tpl-${t.id}`, dataset: { id: t.id } },
    el("div", { class: "card-top" },
      el("div", { class: "card-title-row", style: "flex-wrap:nowrap" },
        el("span", { class: `tpl-icon cat-${t.category}`, "aria-hidden": "true" }, svgIcon(CATEGORY_ICONS[t.category], 18)),
        el("h3", { class: "card-title", id: `tpl-${t.id}` }, t.name))),
    el("p", { class: "card-desc" }, t.summary),
    el("div", { class: "card-badges" },
      el("span", { class: `badge badge-trigger trigger-${t.trigger_type}` }, svgIcon(ICONS.bolt, 12), TRIGGER_LABELS[t.trigger_type]),
      el("span", { class: "badge badge-cat" }, `${t.steps_count} steps`)),
    el("div", { class: "card-foot" },
      el("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => preview(t), "aria-label": `Preview ${t.name}` }, "Preview"),
      el("button", {
        type: "button", class: "btn btn-primary btn-sm", disabled: !canWrite || undefined, "aria-label": `Use template ${t.name}`,
        onclick: (e) => useTemplate(t.id, e.currentTarget),
      }, "Use Template")));
}

function render() {
  const categories = ["customer_service", "sales", "operations"];
  tabs.replaceChildren(...["all", ...categories].map((c) => {
    const n = c === "all" ? templates.length : templates.filter((t) => t.category === c).length;
    const tab = el("button", {
      type: "button", role: "tab", class: "tab", "aria-selected": String(current === c), tabindex: current === c ? "0" : "-1",
      onclick: () => { current = c; history.replaceState(null, "", c === "all" ? location.pathname : `?category=${c}`); render(); tabs.querySelector("[aria-selected=true]")?.focus(); },
    }, c === "all" ? "All" : CATEGORY_LABELS[c], el("span", { class: "count" }, String(n)));
    return tab;
  }));
  tabs.onkeydown = (e) => {
    const all = [...tabs.querySelectorAll("[role=tab]")];
    const i = all.indexOf(document.activeElement);
    if (e.key === "ArrowRight") all[(i + 1) % all.length].click();
    if (e.key === "ArrowLeft") all[(i - 1 + all.length) % all.length].click();
  };
  const shown = categories.filter((c) => current === "all" || current === c);
  gallery.replaceChildren(...shown.map((c) => el("section", { "aria-labelledby": `cat-${c}` },
    el("h2", { class: "category-title", id: `cat-${c}` }, CATEGORY_LABELS[c]),
    el("div", { class: "cards" }, templates.filter((t) => t.category === c).map(tplCard)))));
  gallery.setAttribute("aria-busy", "false");
}

document.getElementById("preview-close").onclick = () => dialog.close();
document.getElementById("preview-cancel").onclick = () => dialog.close();
document.getElementById("preview-use").onclick = (e) => previewing && useTemplate(previewing.id, e.currentTarget);

api("GET", "/templates").then((page) => { templates = page.data; render(); })
  .catch((err) => toast(`Could not load templates: ${err.message}`, "error"));
