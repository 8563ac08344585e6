import assert from "node:assert/strict";
import {test} from "node:test";
import {load} from "./load.mjs";

const m = await load("messages.js");

test("both languages say everything", () => {
  assert.deepEqual(Object.keys(m.MESSAGES.zh).sort(), Object.keys(m.MESSAGES.en).sort());
});

test("the browser's language decides unless the agent chose", () => {
  assert.equal(m.pickLanguage(null, ["zh-CN", "en"]), "zh");
  assert.equal(m.pickLanguage(null, ["en-US"]), "en");
  assert.equal(m.pickLanguage(null, ["fr-FR", "en-GB"]), "en");
  assert.equal(m.pickLanguage("en", ["zh-CN"]), "en");
  assert.equal(m.pickLanguage(null, []), "zh");
});

test("the collections vocabulary", () => {
  assert.equal(m.translate("zh", "kind_panic"), "紧急求助");
  assert.equal(m.translate("zh", "kind_periodic"), "定时通报");
  assert.match(m.translate("zh", "section_receipt"), /催款通知书签收回执/);
  assert.equal(m.translate("en", "queued", {kind: "Arrive"}), "Arrive saved. It is sent as soon as there is network.");
});

test("every rule refusal the API can give has words and a next step in both languages", () => {
  for (const code of ["outside_visit_hours", "too_far_from_address", "frequency_cap", "route_not_approved", "not_team_member", "not_on_route", "validation_error", "id_conflict"]) {
    for (const lang of ["zh", "en"]) {
      const words = m.explainRefusal(lang, code, "");
      assert.ok(words.what && !words.what.startsWith("rule_"), `${lang} ${code}`);
      assert.ok(words.next && !words.next.startsWith("next_"), `${lang} ${code}`);
    }
  }
  assert.match(m.explainRefusal("en", "something_new", "Server says no.").what, /Server says no\./);
});
