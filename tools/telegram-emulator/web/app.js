// The web chat page: one person's private chat with a bot, kept live over Server-Sent Events.
// Everything the bot sends reaches the page as text nodes or through TelegramRender.toDom,
// never as markup. Served as is (no build step); see render.js for formatting.
(function () {
  'use strict';

  const render = window.TelegramRender;
  const $ = (id) => document.getElementById(id);
  const el = {
    botName: $('bot-name'),
    status: $('status'),
    connection: $('connection'),
    botPicker: $('bot-picker'),
    botSelect: $('bot-select'),
    personSelect: $('person-select'),
    me: $('me'),
    chat: $('chat'),
    notice: $('notice'),
    messages: $('messages'),
    replyKeyboard: $('reply-keyboard'),
    sendForm: $('send-form'),
    text: $('text'),
    send: $('send'),
    lengthNotice: $('length-notice'),
    shareContact: $('share-contact'),
    toggleKeyboard: $('toggle-keyboard'),
    contactForm: $('contact-form'),
    contactPhone: $('contact-phone'),
    contactName: $('contact-name'),
    contactUser: $('contact-user'),
    toasts: $('toasts'),
    alert: $('alert'),
    alertText: $('alert-text'),
    alertOk: $('alert-ok'),
  };
  const DEFAULT_PLACEHOLDER = el.text.placeholder;
  const UNREACHABLE = 'The sandbox is not reachable: is “npm start” still running?';
  const DISCONNECTED = 'Disconnected from the sandbox — reconnecting…';
  // How long to wait before opening the stream again when the server refused it (a browser
  // retries by itself only after a lost connection).
  const RECONNECT_MS = 2000;

  const query = new URLSearchParams(location.search);
  const state = {
    people: [],
    // Who the person is (?as=) and which bot (?bot=; none: the emulator's first bot).
    personId: Number(query.get('as')) || null,
    botId: query.get('bot') || null,
    person: null,
    bot: null,
    bots: [],
    messages: new Map(),
    replyKeyboard: null,
    keyboardHidden: false,
    source: null,
    reconnectTimer: null,
    sending: false,
    // Inline buttons waiting for the bot's answerCallbackQuery, by callback query id.
    pending: new Map(),
    answered: new Set(),
  };

  // ---- talking to the emulator ----

  async function api(method, path, body) {
    const target = new URL('/__emulator' + path, location.origin);
    if (state.botId) target.searchParams.set('bot', state.botId);
    const init = { method: method };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(target, init);
    } catch (err) {
      // fetch fails this way only when there is no answer at all ("Failed to fetch").
      throw new Error(UNREACHABLE);
    }
    let json = null;
    try {
      json = await response.json();
    } catch (err) {
      // Not JSON: the status says enough.
    }
    if (!response.ok) throw new Error((json && (json.error || json.description)) || response.status + ' ' + response.statusText);
    return json;
  }

  /** Runs a person's action; a refusal shows as an error toast. */
  async function act(action) {
    try {
      return await action();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), true);
      return undefined;
    }
  }

  const personPath = (what) => '/users/' + encodeURIComponent(String(state.personId)) + '/' + what;

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.source) state.source.close();
    const url = new URL(location.href);
    url.searchParams.set('as', String(state.personId));
    if (state.botId) url.searchParams.set('bot', state.botId);
    else url.searchParams.delete('bot');
    history.replaceState(null, '', url);

    setStatus('Connecting…', '');
    const params = new URLSearchParams({ chat: String(state.personId) });
    if (state.botId) params.set('bot', state.botId);
    const source = new EventSource('/__emulator/stream?' + params.toString());
    state.source = source;
    const on = (type, handler) =>
      source.addEventListener(type, (event) => {
        if (source === state.source) handler(JSON.parse(event.data));
      });
    source.addEventListener('open', () => {
      if (source !== state.source) return;
      setStatus('Live', 'live');
      showConnection('');
    });
    source.addEventListener('error', () => {
      if (source !== state.source) return;
      // The browser reconnects by itself after a lost connection; the first event of every
      // connection is a snapshot, so the page catches up (a restarted sandbox with its state
      // file shows the same chat). A refused stream (say, the bot is not back yet) is tried
      // again here.
      setStatus('Disconnected — reconnecting…', 'down');
      showConnection(DISCONNECTED);
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(state.reconnectTimer);
        state.reconnectTimer = setTimeout(() => {
          if (source === state.source) connect();
        }, RECONNECT_MS);
      }
    });
    on('snapshot', applySnapshot);
    on('message', (event) => upsertMessage(event.message));
    on('edit', (event) => upsertMessage(event.message));
    on('delete', (event) => removeMessage(event.messageId));
    on('keyboard', (event) => setReplyKeyboard(event.replyKeyboard));
    on('callbackAnswer', showCallbackAnswer);
  }

  // ---- state → page ----

  function applySnapshot(snapshot) {
    state.bot = snapshot.bot;
    state.bots = snapshot.bots;
    state.person = snapshot.person;
    state.messages = new Map(snapshot.messages.map((message) => [message.message_id, message]));
    renderHeader();
    el.messages.replaceChildren(...snapshot.messages.map(renderMessage));
    state.keyboardHidden = false;
    setReplyKeyboard(snapshot.replyKeyboard);
    updateNotice();
    scrollToEnd();
  }

  function renderHeader() {
    const bot = state.bot;
    el.botName.textContent = bot ? bot.first_name + (bot.username ? ' · @' + bot.username : '') : 'Telegram emulator';
    document.title = (bot ? (bot.username ? '@' + bot.username : bot.first_name) : 'No bot yet') + ' · Telegram emulator';

    el.botPicker.hidden = state.bots.length < 2;
    el.botSelect.replaceChildren(
      ...state.bots.map((b) => {
        const option = document.createElement('option');
        option.value = String(b.id);
        option.textContent = (b.username ? '@' + b.username : b.first_name) + ' (id ' + b.id + ')';
        return option;
      }),
    );
    if (bot) el.botSelect.value = String(bot.id);

    const person = state.person;
    el.me.replaceChildren();
    if (person) {
      el.me.append('You are ', strong(person.firstName + (person.lastName ? ' ' + person.lastName : '')));
      if (person.label) el.me.append(' (' + person.label + ')');
      el.me.append(' · Telegram id ', strong(String(person.id)));
      if (person.username) el.me.append(' · @' + person.username);
      el.me.append(' · phone ' + (person.phone || 'none'));
    }
    el.shareContact.title = person && person.phone ? 'Sends ' + person.phone : 'This person has no phone number';
    const ready = Boolean(bot);
    el.text.disabled = !ready;
    el.send.disabled = !ready;
    el.shareContact.disabled = !ready || !(person && person.phone);
    for (const control of el.contactForm.elements) control.disabled = !ready;
  }

  function updateNotice() {
    let notice = '';
    if (!state.bot) notice = 'No bot has called this emulator yet. Start the bot: the chat opens as soon as it does.';
    else if (state.messages.size === 0) notice = 'No messages yet. Say /start.';
    el.notice.textContent = notice;
    el.notice.hidden = notice === '';
  }

  function strong(text) {
    const node = document.createElement('strong');
    node.textContent = text;
    return node;
  }

  function div(className, text) {
    const node = document.createElement('div');
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function isOwn(message) {
    return !(message.from && message.from.is_bot);
  }

  function renderMessage(message) {
    const item = document.createElement('li');
    const own = isOwn(message);
    item.className = 'msg ' + (own ? 'out' : 'in');
    item.dataset.id = String(message.message_id);
    const author = document.createElement('span');
    author.className = 'visually-hidden';
    author.textContent = (own ? 'You' : message.from.first_name) + ': ';
    item.append(author);

    if (message.reply_to_message) item.append(div('quote', summary(message.reply_to_message)));
    if (typeof message.text === 'string') {
      const text = div('text');
      text.append(render.toDom(render.entitiesToTree(message.text, message.entities), document));
      for (const command of text.querySelectorAll('.command')) makePressable(command, 'Press to send this command');
      for (const spoiler of text.querySelectorAll('.spoiler')) makePressable(spoiler, 'Spoiler: press to reveal');
      item.append(text);
    } else if (message.contact) {
      const contact = message.contact;
      const card = div('contact');
      card.append(div('', '📇 Contact'), div('', [contact.first_name, contact.last_name].filter(Boolean).join(' ')), div('', contact.phone_number));
      card.append(div('', contact.user_id !== undefined ? 'Telegram id ' + contact.user_id : 'Not on Telegram'));
      item.append(card);
    } else {
      item.append(div('text', '(a message this page cannot show)'));
    }

    const keyboard = message.reply_markup && message.reply_markup.inline_keyboard;
    if (Array.isArray(keyboard)) item.append(renderInlineKeyboard(message, keyboard));

    const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const meta = div('meta', time + (message.edit_date ? ' · edited' : '') + ' · #' + message.message_id);
    item.append(meta);
    return item;
  }

  function summary(message) {
    if (typeof message.text === 'string') return message.text.length > 120 ? message.text.slice(0, 120) + '…' : message.text;
    if (message.contact) return '📇 ' + message.contact.first_name;
    return 'a message';
  }

  function makePressable(node, hint) {
    node.setAttribute('role', 'button');
    node.setAttribute('tabindex', '0');
    node.title = hint;
  }

  function renderInlineKeyboard(message, rows) {
    const box = div('inline-keyboard');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Buttons');
    for (const row of rows) {
      const line = div('row');
      for (const button of row) line.append(renderInlineButton(message, button));
      box.append(line);
    }
    return box;
  }

  /** A button's text, a tooltip with it, and a readable name when the text is only a symbol (✖ → Remove). */
  function labelButton(node, text, hint) {
    node.textContent = text;
    node.title = hint ? text + ' (' + hint + ')' : text;
    const label = render.buttonLabel(text);
    if (label) node.setAttribute('aria-label', label);
  }

  function renderInlineButton(message, button) {
    const text = typeof button.text === 'string' ? button.text : '?';
    if (typeof button.callback_data === 'string') {
      const node = document.createElement('button');
      node.type = 'button';
      labelButton(node, text);
      node.dataset.callback = button.callback_data;
      node.dataset.message = String(message.message_id);
      return node;
    }
    const href = typeof button.url === 'string' ? render.safeHref(button.url) : null;
    if (href) {
      const link = document.createElement('a');
      link.href = href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer nofollow';
      labelButton(link, text, 'opens ' + href);
      return link;
    }
    const node = document.createElement('button');
    node.type = 'button';
    node.disabled = true;
    labelButton(node, text, 'this kind of button is not emulated');
    return node;
  }

  function upsertMessage(message) {
    const follow = nearEnd() || isOwn(message);
    const id = message.message_id;
    state.messages.set(id, message);
    const node = renderMessage(message);
    const existing = el.messages.querySelector('li[data-id="' + id + '"]');
    if (existing) {
      // Keep the keyboard focus on the same button when the bot edits the message under it.
      const focused = existing.contains(document.activeElement) ? document.activeElement.dataset.callback : undefined;
      existing.replaceWith(node);
      if (focused !== undefined) {
        const again = Array.from(node.querySelectorAll('button[data-callback]')).find((b) => b.dataset.callback === focused);
        if (again) again.focus();
      }
    } else {
      const next = Array.from(el.messages.children).find((item) => Number(item.dataset.id) > id) || null;
      el.messages.insertBefore(node, next);
    }
    updateNotice();
    if (follow) scrollToEnd();
  }

  function removeMessage(id) {
    state.messages.delete(id);
    const existing = el.messages.querySelector('li[data-id="' + id + '"]');
    if (existing) existing.remove();
    updateNotice();
  }

  function setReplyKeyboard(keyboard) {
    state.replyKeyboard = keyboard;
    // A keyboard the bot sends shows, even one hidden after a one-time use.
    state.keyboardHidden = false;
    renderReplyKeyboard();
  }

  function renderReplyKeyboard() {
    const keyboard = state.replyKeyboard;
    el.replyKeyboard.replaceChildren();
    el.toggleKeyboard.hidden = !keyboard;
    el.text.placeholder = (keyboard && keyboard.input_field_placeholder) || DEFAULT_PLACEHOLDER;
    if (!keyboard) {
      el.replyKeyboard.hidden = true;
      return;
    }
    el.replyKeyboard.hidden = state.keyboardHidden;
    el.toggleKeyboard.textContent = state.keyboardHidden ? 'Show keyboard' : 'Hide keyboard';
    el.toggleKeyboard.setAttribute('aria-expanded', String(!state.keyboardHidden));
    for (const row of keyboard.keyboard) {
      const line = div('row');
      for (const button of row) {
        const node = document.createElement('button');
        node.type = 'button';
        labelButton(node, button.text, button.request_contact ? 'shares your contact' : '');
        node.dataset.text = button.text;
        line.append(node);
      }
      el.replyKeyboard.append(line);
    }
  }

  function nearEnd() {
    return el.chat.scrollHeight - el.chat.scrollTop - el.chat.clientHeight < 80;
  }

  function scrollToEnd() {
    el.chat.scrollTop = el.chat.scrollHeight;
  }

  function setStatus(text, kind) {
    el.status.textContent = text;
    el.status.className = 'status ' + kind;
  }

  /** The banner saying the page has lost the sandbox ('' hides it). */
  function showConnection(text) {
    el.connection.textContent = text;
    el.connection.hidden = text === '';
  }

  /** Under the input: how long the text is once it nears the limit, and how many messages it makes past it. */
  function updateLengthNotice() {
    const length = el.text.value.length;
    const limit = render.MAX_MESSAGE_LENGTH;
    let notice = '';
    if (length > limit) {
      const count = render.splitMessage(el.text.value).length;
      notice = formatCount(length) + ' characters: ' + (count > 1 ? 'will be sent as ' + count + ' messages' : 'sent as one message once trimmed');
    } else if (length > limit - 300) {
      notice = formatCount(length) + ' of ' + formatCount(limit) + ' characters';
    }
    el.lengthNotice.textContent = notice;
    el.lengthNotice.hidden = notice === '';
    el.lengthNotice.classList.toggle('over', length > limit);
  }

  function formatCount(n) {
    return n.toLocaleString('en-US');
  }

  function toast(text, error) {
    const node = div('toast' + (error ? ' error' : ''), text);
    el.toasts.append(node);
    setTimeout(() => node.remove(), error ? 6000 : 3500);
  }

  function showAlert(text) {
    if (typeof el.alert.showModal !== 'function') return window.alert(text);
    el.alertText.textContent = text;
    if (!el.alert.open) el.alert.showModal();
    el.alertOk.focus();
  }

  function showCallbackAnswer(event) {
    state.answered.add(event.callbackQueryId);
    if (state.answered.size > 500) state.answered.delete(state.answered.values().next().value);
    const button = state.pending.get(event.callbackQueryId);
    if (button) {
      state.pending.delete(event.callbackQueryId);
      button.removeAttribute('aria-busy');
    }
    const answer = event.answer || {};
    if (answer.text) {
      if (answer.show_alert) showAlert(answer.text);
      else toast(answer.text);
    }
  }

  // ---- what the person does ----

  /**
   * Sends a text as Telegram's clients do: one message, or several when it is longer than a
   * message may be. Returns what was not sent ('' when everything was): on a failure the rest
   * stays in the input.
   */
  async function sendText(text) {
    const parts = render.splitMessage(text);
    let from = 0;
    for (const part of parts) {
      const at = text.indexOf(part, from);
      const sent = await act(() => api('POST', personPath('messages'), { text: part }));
      if (sent === undefined) return text.slice(at);
      from = at + part.length;
    }
    return '';
  }

  async function pressInlineButton(button) {
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    const pressed = await act(() => api('POST', personPath('callback'), { messageId: Number(button.dataset.message), data: button.dataset.callback }));
    if (!pressed || state.answered.has(pressed.id)) {
      button.removeAttribute('aria-busy');
      return;
    }
    state.pending.set(pressed.id, button);
    // A bot that never answers: Telegram's client gives up waiting too.
    setTimeout(() => {
      if (state.pending.get(pressed.id) !== button) return;
      state.pending.delete(pressed.id);
      button.removeAttribute('aria-busy');
    }, 15000);
  }

  async function pressKeyboardButton(text) {
    const keyboard = state.replyKeyboard;
    const done = await act(() => api('POST', personPath('keyboard'), { text: text }));
    if (done && keyboard && keyboard.one_time_keyboard && state.replyKeyboard === keyboard) {
      state.keyboardHidden = true;
      renderReplyKeyboard();
    }
  }

  function wire() {
    el.sendForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      // A long text goes out as several messages: one send at a time, in order.
      if (state.sending) return;
      state.sending = true;
      el.send.setAttribute('aria-busy', 'true');
      try {
        const value = el.text.value;
        const left = await sendText(value);
        // Unless the person typed on meanwhile, keep only what was not sent.
        if (el.text.value === value) el.text.value = left;
      } finally {
        state.sending = false;
        el.send.removeAttribute('aria-busy');
        updateLengthNotice();
      }
      el.text.focus();
    });
    el.text.addEventListener('input', updateLengthNotice);
    el.text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el.sendForm.requestSubmit();
      }
    });

    el.messages.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      const button = target.closest('button[data-callback]');
      if (button) return void pressInlineButton(button);
      const command = target.closest('.command');
      if (command) return void sendText(command.textContent);
      const spoiler = target.closest('.spoiler');
      if (spoiler) spoiler.classList.toggle('revealed');
    });
    el.messages.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      const target = event.target instanceof Element ? event.target : null;
      if (!target || !target.matches('.command, .spoiler')) return;
      event.preventDefault();
      target.click();
    });

    el.replyKeyboard.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest('button[data-text]') : null;
      if (button) pressKeyboardButton(button.dataset.text);
    });
    el.toggleKeyboard.addEventListener('click', () => {
      state.keyboardHidden = !state.keyboardHidden;
      renderReplyKeyboard();
    });
    el.shareContact.addEventListener('click', () => act(() => api('POST', personPath('contact'), {})));
    el.contactForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const userId = el.contactUser.value.trim();
      const sent = await act(() =>
        api('POST', personPath('contact'), { phoneNumber: el.contactPhone.value.trim(), firstName: el.contactName.value.trim(), userId: userId === '' ? null : Number(userId) }),
      );
      if (sent) el.contactForm.reset();
    });

    el.personSelect.addEventListener('change', () => {
      state.personId = Number(el.personSelect.value);
      connect();
    });
    el.botSelect.addEventListener('change', () => {
      state.botId = el.botSelect.value;
      connect();
    });
    el.alertOk.addEventListener('click', () => el.alert.close());
  }

  async function start() {
    try {
      state.people = await api('GET', '/people');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      setStatus(message, 'down');
      // Opened before the sandbox is up, or while it restarts: try again.
      if (message === UNREACHABLE) {
        showConnection(UNREACHABLE + ' Trying again…');
        setTimeout(start, RECONNECT_MS);
      }
      return;
    }
    showConnection('');
    el.personSelect.replaceChildren(
      ...state.people.map((person) => {
        const option = document.createElement('option');
        option.value = String(person.id);
        option.textContent = (person.label ? person.label + ': ' : '') + person.firstName + ' (id ' + person.id + ')';
        return option;
      }),
    );
    if (!state.people.some((person) => person.id === state.personId)) state.personId = state.people.length ? state.people[0].id : null;
    if (state.personId === null) {
      setStatus('No people: give the emulator some (option `people`)', 'down');
      return;
    }
    el.personSelect.value = String(state.personId);
    connect();
  }

  wire();
  start();
})();
