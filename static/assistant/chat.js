// The course assistant's chat on the group page. Talks to /api/assistant/ (same origin),
// streams answers as server-sent events read from fetch(), renders text with textContent only.
(function () {
  "use strict";
  const root = document.getElementById("group-content");
  if (!root || !root.dataset.assistantsUrl) return;
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const log = document.getElementById("chat-log");
  const statusLine = document.getElementById("chat-status");
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const button = document.getElementById("ask-button");
  const historyList = document.getElementById("history-list");
  const blank = "00000000-0000-0000-0000-000000000000";
  let conversation = null;
  let busy = false;

  function conversationUrl(uuid) { return root.dataset.conversationUrlTemplate.replace(blank, uuid); }
  const urls = { conversations: "", history: "" };

  async function loadAssistant() {
    const assistants = await api("GET", root.dataset.assistantsUrl);
    const assistant = assistants[0];
    urls.conversations = root.dataset.conversationsUrlTemplate.replace(blank, assistant.uuid);
    urls.history = root.dataset.historyUrlTemplate.replace(blank, assistant.uuid);
    document.getElementById("assistant-heading").textContent = assistant.name;
    const mode = document.getElementById("assistant-mode");
    mode.className = "mode mode-" + assistant.mode;
    mode.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = assistant.mode === "offline" ? "Offline mode: " : "AI mode: ";
    mode.appendChild(strong);
    mode.appendChild(document.createTextNode(assistant.mode === "offline"
      ? "answers quote this course's materials word for word, with numbered sources; nothing is generated."
      : "answers are written by an AI model (" + assistant.mode_label.replace(/^AI mode: /, "") + ") from this course's materials, with numbered sources. Check important details in the sources."));
    document.getElementById("staff-notice").hidden = !assistant.staff_can_read_conversations;
    root.dataset.ready = "true";
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", "Accept": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    if (response.status !== 204) { try { data = await response.json(); } catch (e) { data = null; } }
    if (!response.ok) {
      const detail = (data && data.detail) || ("The request failed (HTTP " + response.status + ").");
      throw new Error(detail);
    }
    return data;
  }

  function say(text) { statusLine.textContent = text; }

  function renderText(container, text) {
    container.textContent = "";
    text.split(/\n{2,}/).forEach(function (para) {
      if (!para.trim()) return;
      const quote = para.startsWith("> ");
      const el = document.createElement(quote ? "blockquote" : "p");
      el.textContent = quote ? para.slice(2) : para;
      container.appendChild(el);
    });
  }

  // Source links are followed only to absolute https: URLs (the server sends no others);
  // anything else (javascript:, data:, http:, relative) is shown as a title without a link.
  function httpsUrl(url) {
    if (typeof url !== "string" || !/^https:\/\//i.test(url) || /[\s\\]/.test(url)) return "";
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" && parsed.hostname ? parsed.href : "";
    } catch (e) { return ""; }
  }

  function renderSources(bubble, sources) {
    if (!sources || !sources.length) return;
    const wrap = document.createElement("div");
    wrap.className = "sources";
    const heading = document.createElement("p");
    heading.className = "sources-heading";
    heading.textContent = "Sources";
    const list = document.createElement("ol");
    sources.forEach(function (s) {
      const li = document.createElement("li");
      li.value = s.number;
      const href = httpsUrl(s.url);
      if (href) {
        const a = document.createElement("a");
        a.href = href; a.target = "_blank"; a.rel = "noopener";
        a.textContent = s.title;
        li.appendChild(a);
      } else {
        li.textContent = s.title;
      }
      list.appendChild(li);
    });
    wrap.appendChild(heading); wrap.appendChild(list);
    bubble.appendChild(wrap);
  }

  function addBubble(role, text) {
    const bubble = document.createElement("article");
    bubble.className = "msg msg-" + role;
    const who = document.createElement("h3");
    who.className = "visually-hidden-label";
    who.textContent = role === "user" ? "You asked" : "Assistant";
    const body = document.createElement("div");
    body.className = "msg-body";
    bubble.appendChild(who); bubble.appendChild(body);
    renderText(body, text || "");
    log.appendChild(bubble);
    bubble.scrollIntoView({ block: "end" });
    return bubble;
  }

  function showError(bubble, message) {
    const p = document.createElement("p");
    p.className = "error-text";
    p.setAttribute("role", "alert");
    p.textContent = message;
    bubble.appendChild(p);
  }

  async function stream(url, bubble) {
    const body = bubble.querySelector(".msg-body");
    let text = "";
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/event-stream" } });
    if (!response.ok || !response.body) {
      let detail = "The answer could not be loaded (HTTP " + response.status + ").";
      try { detail = (await response.json()).detail || detail; } catch (e) { /* keep */ }
      throw new Error(detail);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let status = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        raw.split("\n").forEach(function (line) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        });
        if (!data) continue;
        const payload = JSON.parse(data);
        if (event === "delta") { text += payload.text; renderText(body, text); }
        else if (event === "sources") renderSources(bubble, payload.sources);
        else if (event === "error") showError(bubble, payload.message);
        else if (event === "done") status = payload.status;
      }
    }
    bubble.dataset.status = status;
    return status;
  }

  async function ask(question) {
    if (!conversation) {
      conversation = (await api("POST", urls.conversations)).uuid;
    }
    addBubble("user", question);
    const answerBubble = addBubble("assistant", "");
    answerBubble.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", conversationUrl(conversation) + "ask/", { question: question });
      say("The assistant is answering…");
      await stream(result.stream_url, answerBubble);
      say("Answer complete.");
    } catch (err) {
      showError(answerBubble, err.message);
      say("");
    } finally {
      answerBubble.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) { say("Type a question first."); input.focus(); return; }
    if (busy) return;
    busy = true; button.disabled = true;
    input.value = "";
    try { await ask(question); } catch (err) { say(err.message); }
    busy = false; button.disabled = false;
    input.focus();
    loadHistory();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("new-conversation").addEventListener("click", function () {
    conversation = null; log.textContent = ""; say("New conversation."); input.focus();
  });

  async function openConversation(uuid) {
    const data = await api("GET", conversationUrl(uuid));
    conversation = uuid; log.textContent = "";
    data.messages.forEach(function (m) {
      const bubble = addBubble(m.role, m.content);
      if (m.error) showError(bubble, m.error);
      renderSources(bubble, m.citations);
    });
    say("Opened: " + (data.title || "conversation"));
  }

  async function loadHistory() {
    try {
      const items = await api("GET", urls.conversations);
      const list = Array.isArray(items) ? items : (items.results || []);
      historyList.textContent = "";
      if (!list.length) { const li = document.createElement("li"); li.textContent = "No conversations yet."; historyList.appendChild(li); }
      list.forEach(function (c) {
        const li = document.createElement("li");
        const open = document.createElement("button");
        open.type = "button"; open.className = "link";
        open.textContent = c.title || "Untitled conversation";
        open.addEventListener("click", function () { openConversation(c.uuid).catch(function (e) { say(e.message); }); });
        const del = document.createElement("button");
        del.type = "button"; del.className = "secondary small";
        del.textContent = "Delete";
        del.setAttribute("aria-label", "Delete conversation: " + (c.title || "untitled"));
        del.addEventListener("click", async function () {
          await api("DELETE", conversationUrl(c.uuid));
          if (conversation === c.uuid) { conversation = null; log.textContent = ""; }
          say("Conversation deleted."); loadHistory();
        });
        li.appendChild(open); li.appendChild(del);
        historyList.appendChild(li);
      });
    } catch (err) { say(err.message); }
  }

  document.getElementById("delete-history").addEventListener("click", async function () {
    if (!window.confirm("Delete all your conversations with this assistant?")) return;
    await api("DELETE", urls.history);
    conversation = null; log.textContent = ""; say("All your conversations were deleted."); loadHistory();
  });

  loadAssistant().then(loadHistory).catch(function (err) {
    document.getElementById("assistant-mode").textContent = "The course assistant could not be loaded: " + err.message;
  });
})();
