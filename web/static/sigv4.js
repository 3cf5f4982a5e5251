// AWS Signature Version 4 for the browser, with WebCrypto: what the /stages page signs its
// API calls with (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
// No dependencies; the secret key never leaves the page.

const encoder = new TextEncoder();

/**
 * Signs a request and returns its headers with Authorization and X-Amz-Date added (and
 * X-Amz-Security-Token for temporary credentials). `url` is a URL or string; `headers` a plain
 * object; `body` a string. Every header passed in is signed, and so is host (taken from url).
 */
export async function signRequest({ method, url, headers = {}, body = "", region, service, credentials, date = new Date() }) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new Error("WebCrypto is not available: open this page over https:// or on localhost.");
  }
  const u = new URL(url);
  const amzDate = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, ""); // 20260304T050607Z
  const day = amzDate.slice(0, 8);
  const signed = { ...lowerKeys(headers), host: u.host, "x-amz-date": amzDate };
  if (credentials.sessionToken) {
    signed["x-amz-security-token"] = credentials.sessionToken;
  }
  const names = Object.keys(signed).sort();
  const payloadHash = hex(await subtle.digest("SHA-256", encoder.encode(body)));
  const canonical = [
    method.toUpperCase(),
    canonicalPath(u.pathname),
    canonicalQuery(u.search),
    names.map((n) => `${n}:${trimAll(String(signed[n]))}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(await subtle.digest("SHA-256", encoder.encode(canonical)))].join("\n");
  let key = encoder.encode("AWS4" + credentials.secretAccessKey);
  for (const part of [day, region, service, "aws4_request"]) {
    key = await hmac(subtle, key, part);
  }
  const signature = hex(await hmac(subtle, key, toSign));
  const out = { ...headers, "X-Amz-Date": amzDate };
  if (credentials.sessionToken) {
    out["X-Amz-Security-Token"] = credentials.sessionToken;
  }
  out.Authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return out;
}

async function hmac(subtle, key, text) {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, encoder.encode(text)));
}

function hex(buf) {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function lowerKeys(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

// trimAll is the spec's Trimall: no surrounding white space, inner runs of spaces as one.
function trimAll(v) {
  return v.trim().replace(/ +/g, " ");
}

// uriEncode is the spec's UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX (uppercase);
// "/" too unless keepSlash.
function uriEncode(s, keepSlash) {
  let out = "";
  for (const b of encoder.encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || keepSlash && c === "/") {
      out += c;
    } else {
      out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

// canonicalPath encodes the already-escaped path once more: every service but S3 signs the
// path double-encoded, so "%3A" on the wire is "%253A" here.
function canonicalPath(escaped) {
  return escaped === "" ? "/" : uriEncode(escaped, true);
}

// canonicalQuery decodes each name and value, encodes them with uriEncode, and sorts the
// pairs by the encoded name, then value.
function canonicalQuery(search) {
  const pairs = [];
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (part === "") {
      continue;
    }
    const [name, value = ""] = splitOnce(part, "=");
    pairs.push([uriEncode(decode(name), false), uriEncode(decode(value), false)]);
  }
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

function splitOnce(s, sep) {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

function decode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s; // a malformed escape is signed as sent
  }
}
