// Deactivating a workflow whose runs are waiting (SPEC §2.3): ask whether to cancel those runs.
// Shared by the Workflows page's toggle and the builder's save; the dialog is built here, once.
import { api, confirmDialog, el, toast } from "./core.js";

let dialog = null;

function theDialog() {
  if (dialog) return dialog;
  dialog = el("dialog", { id: "confirm-deactivate", class: "dialog", "aria-labelledby": "deactivate-title", "aria-describedby": "deactivate-text" },
    el("form", { method: "dialog" },
      el("h2", { id: "deactivate-title" }, "Deactivate workflow?"),
      el("p", { id: "deactivate-text", class: "muted" }),
      el("div", { class: "dialog-actions dialog-actions-wrap" },
        el("button", { value: "", class: "btn btn-secondary", autofocus: true }, "Keep it active"),
        el("button", { value: "keep", class: "btn btn-secondary" }, "Deactivate, let them wait"),
        el("button", { value: "cancel", class: "btn btn-danger" }, "Deactivate and cancel them"))));
  document.body.append(dialog);
  return dialog;
}

// Runs of the workflow waiting now, read fresh (a card's count may be seconds old); `fallback`
// when Temporal cannot say.
async function waitingNow(workflowId, fallback) {
  try {
    const p = new URLSearchParams({ workflow_id: workflowId, status: "waiting", limit: "1" });
    return (await api("GET", `/runs?${p}`)).count;
  } catch {
    return fallback || 0;
  }
}

// Before deactivating: "" (keep it active), "keep" (deactivate, the runs go on waiting) or
// "cancel" (deactivate, then cancel them with cancelWaitingRuns).
export async function askAboutWaitingRuns(wf) {
  const waiting = await waitingNow(wf.id, wf.waiting);
  if (!waiting) return "keep";
  const runs = `${waiting} run${waiting === 1 ? "" : "s"} of “${wf.name}” ${waiting === 1 ? "is" : "are"} waiting.`;
  return confirmDialog(theDialog(), `${runs} Deactivating starts no new runs; the waiting ones carry on with their version unless you cancel them now.`);
}

export async function cancelWaitingRuns(wf) {
  const answer = await api("POST", `/workflows/${encodeURIComponent(wf.id)}/runs/cancel`);
  const n = answer.cancel_requested.length;
  toast(`Cancelling ${n} waiting run${n === 1 ? "" : "s"}.`, "success");
}
