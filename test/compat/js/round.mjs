// One round of the IVS Real-Time control plane with the AWS SDK for JavaScript v3 against
// Footlight. Run by ../js_test.go with the server's environment (FOOTLIGHT_ENDPOINT,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). Prints one JSON object with what
// the SDK returned; the Go test asserts on it. An unexpected error exits non-zero.
import { readFileSync } from "node:fs";
import {
  IVSRealTimeClient,
  CreateStageCommand,
  GetStageCommand,
  UpdateStageCommand,
  ListStagesCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  CreateParticipantTokenCommand,
  DeleteStageCommand,
  ResourceNotFoundException,
  paginateListStages,
} from "@aws-sdk/client-ivs-realtime";

const env = process.env;
const clientWith = (secretAccessKey) =>
  new IVSRealTimeClient({
    endpoint: env.FOOTLIGHT_ENDPOINT,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey },
  });
const client = clientWith(env.AWS_SECRET_ACCESS_KEY);

// errorOf runs call, which must throw; returns what a user reads off the error.
async function errorOf(call) {
  try {
    await call();
  } catch (e) {
    return {
      name: e.name,
      status: e.$metadata?.httpStatusCode,
      message: e.message,
      exceptionMessage: e.exceptionMessage,
      modeled: e instanceof ResourceNotFoundException,
    };
  }
  throw new Error("the call succeeded; an error was expected");
}

const tokenOf = (t) => ({
  participantId: t.participantId,
  userId: t.userId,
  duration: t.duration,
  capabilities: t.capabilities,
  attributes: t.attributes,
  token: t.token,
  // The SDK parses the model's iso8601 timestamp into a Date.
  expirationTimeIsDate: t.expirationTime instanceof Date,
  expirationTime: t.expirationTime instanceof Date ? t.expirationTime.toISOString() : t.expirationTime,
});

const out = {
  sdkVersion: JSON.parse(
    readFileSync(new URL("./node_modules/@aws-sdk/client-ivs-realtime/package.json", import.meta.url)),
  ).version,
};

const created = await client.send(
  new CreateStageCommand({
    name: "js-stage",
    tags: { team: "video" },
    participantTokenConfigurations: [{ userId: "dave", capabilities: ["PUBLISH"] }],
  }),
);
const arn = created.stage.arn;
out.create = {
  arn,
  name: created.stage.name,
  tags: created.stage.tags,
  endpoints: created.stage.endpoints,
  tokens: created.participantTokens.map(tokenOf),
  requestId: created.$metadata.requestId,
};

const got = (await client.send(new GetStageCommand({ arn }))).stage;
out.get = { arn: got.arn, name: got.name, tags: got.tags, activeSessionId: got.activeSessionId };

const updated = (await client.send(new UpdateStageCommand({ arn, name: "js-renamed" }))).stage;
out.update = { arn: updated.arn, name: updated.name };

out.listStages = (await client.send(new ListStagesCommand({}))).stages.map((s) => ({ arn: s.arn, name: s.name }));

await client.send(new TagResourceCommand({ resourceArn: arn, tags: { env: "test", "a b": "c d", "x/y+z=ü": "1" } }));
out.tagsAfterTag = (await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags;
await client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["team", "a b", "x/y+z=ü"] }));
out.tagsAfterUntag = (await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags;

out.participantToken = tokenOf(
  (await client.send(new CreateParticipantTokenCommand({ stageArn: arn, userId: "erin", duration: 90 }))).participantToken,
);

await client.send(new DeleteStageCommand({ arn }));
out.getAfterDelete = await errorOf(() => client.send(new GetStageCommand({ arn })));

out.wrongSecret = await errorOf(() => clientWith("not-the-secret").send(new ListStagesCommand({})));

// paginateListStages over 5 new stages, 2 per page.
const paged = [];
for (let i = 0; i < 5; i++) {
  paged.push((await client.send(new CreateStageCommand({ name: `page-${i}` }))).stage.arn);
}
out.paginate = { created: paged, pages: [] };
for await (const page of paginateListStages({ client, pageSize: 2 }, {})) {
  out.paginate.pages.push(page.stages.map((s) => s.arn));
}

process.stdout.write(JSON.stringify(out) + "\n");
