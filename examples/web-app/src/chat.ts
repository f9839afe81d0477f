/** A streamed chat completion, as any OpenAI-compatible client would send it. */
export async function streamChat(options: {
  baseUrl: string;
  key: string;
  message: string;
  onText: (text: string) => void;
}): Promise<void> {
  const response = await fetch(`${options.baseUrl}/api/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${options.key}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      model: "keyport/echo",
      stream: true,
      max_tokens: 64,
      messages: [{ role: "user", content: options.message }],
    }),
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const event = JSON.parse(line.slice(6)) as {
        error?: { message?: string };
        choices?: { delta?: { content?: string } }[];
      };
      if (event.error) throw new Error(event.error.message ?? "The stream failed");
      const text = event.choices?.[0]?.delta?.content;
      if (text) options.onText(text);
    }
  }
}
