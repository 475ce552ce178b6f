/** Waiting on work that may never finish (a peer that does not answer), without keeping the process alive. */

/** Resolves when `work` settles (either way) or after `ms`, whichever comes first; the timer does not hold the process. */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.then(ignore, ignore), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

const ignore = () => undefined;
