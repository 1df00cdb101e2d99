import { collectGarbage, median, perSecond, type Sizes, type StoreSide } from './common.ts';

/** Each case's rate on one side, in events per second. */
export interface SideRates {
  readonly appendStreams: number;
  readonly appendSingles: number;
  readonly readStream: number;
  readonly readAll: number;
  readonly rebuild: number;
}

/** A side opened on a fresh database or file, and how to remove that database or file afterwards. */
export interface OpenedSide {
  readonly side: StoreSide;
  readonly cleanUp: () => Promise<void>;
}

/** A number with its thousands apart, as the tables print it. */
export const grouped = (n: number): string => n.toLocaleString('en-US').replaceAll(',', ' ');

type Pair<T> = { tidings: T; emmett: T };
type Who = keyof Pair<unknown>;

/**
 * Runs the five cases on both sides (cases 3 to 5 read what cases 1 and 2 wrote), printing one line per
 * case through `log` (nothing when it is undefined), then closes both sides and removes their data.
 * The sides take turns within each case: the appends and the global read in halves ordered Tidings,
 * Emmett, Emmett, Tidings; the stream reads alternately, each side's median read counting; the
 * rebuilds once each.
 */
export async function runPair(
  open: Pair<() => Promise<OpenedSide>>,
  sizes: Sizes,
  log: ((line: string) => void) | undefined,
): Promise<Pair<SideRates>> {
  const stored = sizes.streams * sizes.perStream + sizes.singles;
  if (stored < Math.max(sizes.readAll, sizes.rebuild)) {
    throw new Error(`the appends store ${stored} events, fewer than cases 4 and 5 read`);
  }
  const opened: Partial<Pair<OpenedSide>> = {};
  try {
    opened.tidings = await open.tidings();
    opened.emmett = await open.emmett();
    const sides: Pair<StoreSide> = { tidings: opened.tidings.side, emmett: opened.emmett.side };
    const report = (label: string, rates: Pair<number>): Pair<number> => {
      log?.(`${label}: tidings ${grouped(rates.tidings)}, emmett ${grouped(rates.emmett)} events/s`);
      return rates;
    };
    /** Both sides' rates over two halves of work, in the order Tidings, Emmett, Emmett, Tidings. */
    const inHalves = async (
      events: number,
      half: (side: StoreSide, which: 0 | 1) => Promise<number>,
    ): Promise<Pair<number>> => {
      const ms: Pair<number> = { tidings: 0, emmett: 0 };
      for (const [who, which] of [
        ['tidings', 0],
        ['emmett', 0],
        ['emmett', 1],
        ['tidings', 1],
      ] as const) {
        collectGarbage();
        ms[who] += await half(sides[who], which);
      }
      return { tidings: perSecond(events, ms.tidings), emmett: perSecond(events, ms.emmett) };
    };

    const { streams, perStream, singles, readRepeats, readAll, page, rebuild } = sizes;
    const halfStreams = Math.ceil(streams / 2);
    const halfSingles = Math.ceil(singles / 2);
    const appendStreams = report(
      `1/5 ${grouped(streams)} streams × ${perStream} events`,
      await inHalves(streams * perStream, (side, which) =>
        which === 0
          ? side.appendStreams(0, halfStreams, perStream)
          : side.appendStreams(halfStreams, streams - halfStreams, perStream),
      ),
    );
    const appendSingles = report(
      `2/5 ${grouped(singles)} single-event appends`,
      await inHalves(singles, (side, which) =>
        side.appendSingles(which === 0 ? halfSingles : singles - halfSingles),
      ),
    );
    const reads: Pair<number[]> = { tidings: [], emmett: [] };
    for (let r = 0; r < readRepeats; r += 1) {
      const order: readonly Who[] = r % 2 === 0 ? ['tidings', 'emmett'] : ['emmett', 'tidings'];
      for (const who of order) {
        collectGarbage();
        reads[who].push(await sides[who].readStream(singles));
      }
    }
    const readStream = report(`3/5 readStream of ${grouped(singles)} events, median of ${readRepeats}`, {
      tidings: perSecond(singles, median(reads.tidings)),
      emmett: perSecond(singles, median(reads.emmett)),
    });
    const readAllRates = report(
      `4/5 global log, ${grouped(readAll)} events (read twice)`,
      await inHalves(2 * readAll, (side) => side.readAll(readAll, page)),
    );
    const rebuilt = async (who: Who): Promise<number> => {
      collectGarbage();
      return perSecond(rebuild, await sides[who].rebuild(rebuild, page));
    };
    const rebuildRates = report(`5/5 projection rebuild, ${grouped(rebuild)} events`, {
      tidings: await rebuilt('tidings'),
      emmett: await rebuilt('emmett'),
    });
    const of = (who: Who): SideRates => ({
      appendStreams: appendStreams[who],
      appendSingles: appendSingles[who],
      readStream: readStream[who],
      readAll: readAllRates[who],
      rebuild: rebuildRates[who],
    });
    return { tidings: of('tidings'), emmett: of('emmett') };
  } finally {
    for (const side of [opened.tidings, opened.emmett]) {
      if (side === undefined) continue;
      await side.side.close();
      await side.cleanUp();
    }
  }
}

/** Only the two append cases, for a second configuration of one side (another durability setting). */
export async function runAppends(
  open: () => Promise<OpenedSide>,
  sizes: Sizes,
  log: ((line: string) => void) | undefined,
): Promise<Pick<SideRates, 'appendStreams' | 'appendSingles'>> {
  const { side, cleanUp } = await open();
  try {
    const events = sizes.streams * sizes.perStream;
    const appendStreams = perSecond(events, await side.appendStreams(0, sizes.streams, sizes.perStream));
    const appendSingles = perSecond(sizes.singles, await side.appendSingles(sizes.singles));
    log?.(`appends: ${grouped(appendStreams)} and ${grouped(appendSingles)} events/s`);
    return { appendStreams, appendSingles };
  } finally {
    await side.close();
    await cleanUp();
  }
}
