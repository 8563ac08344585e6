// The API as the phone sees it (API.md): JSON in and out, `Authorization: Token <key>`.
// Every answer comes back as {status, body, retryAfter}; status 0 means no answer at all.

const TOKEN_KEY = "fieldapp.token";
const DEVICE_KEY = "fieldapp.device_id";
const USER_KEY = "fieldapp.user";

/** A stable id for this browser on this phone, made once and kept: the server issues one
 * token per device, and signing in again on the same device replaces that token. */
export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = "web-" + crypto.randomUUID();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export function platform() {
  const ua = navigator.userAgent || "";
  if (/android/i.test(ua)) { return "android"; }
  if (/iphone|ipad|ipod/i.test(ua)) { return "ios"; }
  return "web";
}

export function session() {
  const token = localStorage.getItem(TOKEN_KEY);
  const user = localStorage.getItem(USER_KEY);
  return token && user ? {token, user} : null;
}

export function forget() {
  localStorage.removeItem(TOKEN_KEY);
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

// The server's words (a problem's `title` and `detail`) in the app's language, not the
// phone's: someone who switched the app to English reads English refusals too.
const SERVER_LANGUAGE = {zh: "zh-Hans", en: "en"};
let language = null;

/** Speak `lang` ("zh" or "en") to the server from now on. */
export function setLanguage(lang) {
  language = SERVER_LANGUAGE[lang] || null;
}

/** A JSON body, or a FormData one (multipart: a photo, a receipt) sent as the browser makes it. */
export async function call(method, path, body = undefined, token = undefined) {
  const headers = {Accept: "application/json"};
  if (language) { headers["Accept-Language"] = language; }
  const auth = token === undefined ? localStorage.getItem(TOKEN_KEY) : token;
  if (auth) { headers.Authorization = `Token ${auth}`; }
  const multipart = body instanceof FormData;
  if (body !== undefined && !multipart) { headers["Content-Type"] = "application/json"; }
  let response;
  try {
    response = await fetch(path, {
      method, headers,
      body: body === undefined ? undefined : (multipart ? body : JSON.stringify(body)),
      credentials: "omit", cache: "no-store",
    });
  } catch (error) {
    return {status: 0, body: null, retryAfter: null, error: String(error)};
  }
  let parsed = null;
  try { parsed = await response.json(); } catch { parsed = null; }
  return {status: response.status, body: parsed, retryAfter: response.headers.get("Retry-After")};
}

export async function signIn(username, password) {
  const answer = await call("POST", "/api/v1/auth/token/", {
    username, password, device_id: deviceId(),
    device_name: `${platform()} browser`.slice(0, 128), platform: platform(),
  }, null);
  if (answer.status === 201) {
    localStorage.setItem(TOKEN_KEY, answer.body.token);
    localStorage.setItem(USER_KEY, answer.body.user.username);
  }
  return answer;
}

export async function signOut() {
  await call("POST", "/api/v1/auth/logout/");
  forget();
  localStorage.removeItem(USER_KEY);
}

/** A record's form: its fields (nulls left out, as "not given") and its files by field name. */
export function formOf(fields, files = {}, names = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || value === undefined) { continue; }
    form.append(key, typeof value === "boolean" ? String(value) : value);
  }
  for (const [key, blob] of Object.entries(files)) {
    if (blob) { form.append(key, blob, names[key] || key); }
  }
  return form;
}
