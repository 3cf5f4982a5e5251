// Runs the browser modules' pure functions in node for web_test.go: it reads cases as JSON
// from FOOTLIGHT_WEB_CASES and prints one JSON object of results.
import { decodeToken, isExpired, refusalError, sdpFragment, FootlightError } from "../static/footlight.js";
import { signRequest } from "../static/sigv4.js";

const cases = JSON.parse(process.env.FOOTLIGHT_WEB_CASES);
const out = { tokens: [], refusals: [], signatures: [], fragment: "" };

for (const token of cases.tokens) {
  try {
    const info = decodeToken(token);
    out.tokens.push({ ...info, claims: undefined, expiresAt: info.expiresAt?.toISOString() ?? null, issuedAt: info.issuedAt?.toISOString() ?? null, expired: isExpired(info) });
  } catch (err) {
    out.tokens.push({ error: err.code, isFootlightError: err instanceof FootlightError });
  }
}
for (const r of cases.refusals) {
  const err = refusalError(r.status, r.reason, r.op);
  out.refusals.push({ code: err.code, message: err.message, status: err.status });
}
for (const s of cases.signatures) {
  const headers = await signRequest({ ...s, date: new Date(s.date) });
  out.signatures.push(headers);
}
out.fragment = sdpFragment(cases.fragment.sdp, cases.fragment.candidates, true);
console.log(JSON.stringify(out));
