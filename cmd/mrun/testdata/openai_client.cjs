// Talks to 'mrun serve' through the official openai npm client: lists the
// models, asks a chat completion, asks it again streamed, and prints what
// it got as one JSON line for the Go test to check.
const OpenAI = require('openai');

async function main() {
  const client = new OpenAI({ baseURL: process.env.MRUN_URL + '/v1', apiKey: process.env.MRUN_KEY });
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  const request = {
    model: models[0],
    messages: [{ role: 'user', content: 'Once upon a time' }],
    temperature: 0,
    max_tokens: 48,
  };
  const chat = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true });
  let streamed = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    streamed += chunk.choices[0]?.delta?.content ?? '';
  }
  let refused = '';
  try {
    await new OpenAI({ baseURL: process.env.MRUN_URL + '/v1', apiKey: 'wrong', maxRetries: 0 }).models.list();
  } catch (e) {
    refused = `${e.status} ${e.code}`;
  }
  console.log(JSON.stringify({
    models, chat: chat.choices[0].message.content, finish: chat.choices[0].finish_reason,
    usage: chat.usage, streamed, chunks, refused,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
