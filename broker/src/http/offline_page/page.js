// The /offline page: posts a code to the broker and shows the answer. Every check of
// a code (its check characters included) is the broker's, so the page and the
// command line say the same thing about the same typo.
"use strict";

async function post(path, body) {
  const answer = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let json = null;
  try { json = await answer.json(); } catch (e) { json = null; }
  if (!answer.ok) {
    // The broker's message says what went wrong and what to do (the typo's group,
    // how long to wait).
    throw new Error((json && json.message) || ("The license server answered HTTP " + answer.status + "."));
  }
  return json;
}

function show(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("error", Boolean(isError));
}

async function activate() {
  const response = document.getElementById("response");
  const message = document.getElementById("message");
  const answer = document.getElementById("answer");
  answer.hidden = true;
  show(message, "");
  show(response, "Asking the license server…");
  try {
    const json = await post("/v1/license/offline/activate", {
      request: document.getElementById("request").value,
    });
    if (!json.licensed) {
      // A deny (MACHINE_LIMIT with the machines, EXPIRED, …): what to do, not a code
      // to carry back.
      show(response, json.message, true);
      return;
    }
    show(response, json.response);
    show(message, json.message);
    if (json.qr_svg) {
      document.getElementById("qr").src =
        "data:image/svg+xml;base64," + btoa(json.qr_svg);
    }
    const file = new Blob([json.response + "\n"], { type: "text/plain" });
    document.getElementById("download").href = URL.createObjectURL(file);
    answer.hidden = false;
  } catch (e) {
    show(response, e.message, true);
  }
}

async function deactivate() {
  const out = document.getElementById("deactivated");
  show(out, "Asking the license server…");
  try {
    const envelope = await post("/v1/license/offline/deactivate", {
      code: document.getElementById("deactivation").value,
    });
    const payload = JSON.parse(atob(envelope.payload.replace(/-/g, "+").replace(/_/g, "/")));
    const machines = payload.license && payload.license.machines;
    // DEACTIVATED both when this code freed the seat and when its activation held none
    // any more (freed before, or the machine activated again since): say what is true.
    let text = "Done: the activation this code gives up holds no seat of this license now.";
    if (machines && machines.max !== null) {
      text += " Seats in use: " + machines.used + " of " + machines.max + ".";
    }
    show(out, text);
  } catch (e) {
    show(out, e.message, true);
  }
}

document.getElementById("submit").addEventListener("click", activate);
document.getElementById("deactivate").addEventListener("click", deactivate);
