// Shared by the codec tests.

/** The typed error code `f` throws (undefined when it does not throw), or the message of an untyped error. */
export function codeOf(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${(e as Error).message}`;
  }
}
