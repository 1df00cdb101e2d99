import type { DoctorFinding } from '@tidings/core';
import type { Connection } from './client.ts';
import { GROUP_QUEUE_ARGUMENTS, type Names } from './mapping.ts';

/** A group whose queue the doctor checks. */
export interface RabbitmqDoctorGroup {
  readonly channel: string;
  readonly group: string;
}

/** What the doctor needs. @internal */
export interface DoctorContext {
  readonly connection: Connection;
  readonly names: Names;
  readonly retryBudget: number;
  /** Groups this transport consumed, checked along with those passed to `doctor()`. */
  readonly groups: () => readonly RabbitmqDoctorGroup[];
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What the broker said about an existing queue when declared with the transport's arguments. */
type Probe = { kind: 'missing' } | { kind: 'same' } | { kind: 'other'; message: string };

/**
 * AMQP cannot read a queue's arguments, but a declaration with other arguments is refused with a
 * message naming the difference ("inequivalent arg 'x-queue-type' … current is none"). The doctor
 * declares each queue passively first (never creating one), then with the transport's own arguments.
 */
async function probeQueue(
  connection: Connection,
  queue: string,
  argumentsTable: Record<string, unknown>,
): Promise<Probe> {
  const exists = await connection.withChannel('check a queue', async (channel) => {
    try {
      await channel.checkQueue(queue);
      return true;
    } catch {
      return false;
    }
  });
  if (!exists) return { kind: 'missing' };
  return connection.withChannel('check a queue', async (channel) => {
    try {
      await channel.assertQueue(queue, { durable: true, arguments: argumentsTable });
      return { kind: 'same' } as const;
    } catch (error) {
      return { kind: 'other', message: errorText(error) } as const;
    }
  });
}

function groupFinding(queue: string, probe: Probe, budget: number): DoctorFinding {
  const check = 'rabbitmq.group-queue';
  if (probe.kind === 'missing')
    return {
      check,
      level: 'warn',
      message: `queue ${queue} does not exist yet`,
      fix: 'start a consumer of the group; it declares the queue, and publishes before that are not kept for it',
    };
  if (probe.kind === 'same')
    return {
      check,
      level: 'ok',
      message: `queue ${queue} is a durable quorum queue without x-delivery-limit`,
    };
  const message = probe.message;
  if (/'x-queue-type'/.test(message))
    return {
      check,
      level: 'fail',
      message: `queue ${queue} is not a quorum queue (${message})`,
      fix: 'classic queues have no delivery counter, so a message that crashes its consumer loops forever; move the group to a quorum queue (shovel its messages, delete it, let the consumer declare it again)',
    };
  if (/'durable'/.test(message))
    return {
      check,
      level: 'fail',
      message: `queue ${queue} is not durable (${message})`,
      fix: 'its messages are lost when the broker restarts; recreate it as a durable quorum queue',
    };
  const limit = /'x-delivery-limit'.*current is the value '(-?\d+)'/.exec(message);
  if (limit !== null) {
    const value = Number(limit[1]);
    return value >= 0 && value < budget
      ? {
          check,
          level: 'fail',
          message: `queue ${queue} has x-delivery-limit ${value}, below the retry budget of ${budget} deliveries`,
          fix: `the broker drops (or dead-letters) a message before the bus can retry it and keep it as a dead letter; raise the limit above ${budget} or remove it`,
        }
      : {
          check,
          level: 'warn',
          message: `queue ${queue} has x-delivery-limit ${value} as an argument; the transport declares none`,
          fix: 'consumers cannot declare this queue again; set the limit with a policy instead',
        };
  }
  return {
    check,
    level: 'warn',
    message: `queue ${queue} has other arguments than the transport declares (${message})`,
    fix: 'recreate it, or remove the extra arguments',
  };
}

/**
 * The doctor's checks: the connection, resource alarms, the server version, each known group queue
 * (quorum, durable, delivery limit as an argument), the dead-letter stream, and what AMQP cannot read
 * (policies, `consumer_timeout`), said plainly.
 *
 * @internal
 */
export async function runChecks(
  context: DoctorContext,
  extra: readonly RabbitmqDoctorGroup[],
): Promise<DoctorFinding[]> {
  const { connection, names, retryBudget } = context;
  const findings: DoctorFinding[] = [];
  let model;
  try {
    model = await connection.live('run the doctor');
  } catch (error) {
    return [
      {
        check: 'rabbitmq.connection',
        level: 'fail',
        message: errorText(error),
        fix: 'start RabbitMQ, or check the url, user and vhost',
      },
    ];
  }
  const properties = model.connection.serverProperties as unknown as Record<string, unknown>;
  const version = typeof properties.version === 'string' ? properties.version : 'unknown';
  findings.push({
    check: 'rabbitmq.connection',
    level: 'ok',
    message: `connected to ${typeof properties.product === 'string' ? properties.product : 'RabbitMQ'} ${version}`,
  });
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 3 || (major === 3 && minor < 10))
    findings.push({
      check: 'rabbitmq.version',
      level: 'fail',
      message: `RabbitMQ ${version} is older than 3.10`,
      fix: 'delay buckets need message TTL and at-least-once dead-lettering on quorum queues (3.10 or later)',
    });
  else if (major >= 4 && retryBudget > 20)
    findings.push({
      check: 'rabbitmq.version',
      level: 'warn',
      message: `RabbitMQ ${version} gives quorum queues a default delivery limit of 20, below the retry budget of ${retryBudget}`,
      fix: `set a policy with delivery-limit above ${retryBudget} (or -1) on the group queues`,
    });
  else
    findings.push({
      check: 'rabbitmq.version',
      level: 'ok',
      message: `RabbitMQ ${version} supports quorum queues, message TTL and at-least-once dead-lettering`,
    });

  const blocked = connection.blocked();
  findings.push(
    blocked === undefined
      ? { check: 'rabbitmq.alarms', level: 'ok', message: 'publishers are not blocked' }
      : {
          check: 'rabbitmq.alarms',
          level: 'fail',
          message: `RabbitMQ blocks publishers: ${blocked}`,
          fix: 'free disk space or memory on the broker (rabbitmq-diagnostics alarms)',
        },
  );

  const seen = new Set<string>();
  for (const { channel, group } of [...context.groups(), ...extra]) {
    const queue = names.queue(channel, group);
    if (seen.has(queue)) continue;
    seen.add(queue);
    findings.push(
      groupFinding(queue, await probeQueue(connection, queue, { ...GROUP_QUEUE_ARGUMENTS }), retryBudget),
    );
  }
  if (seen.size === 0)
    findings.push({
      check: 'rabbitmq.group-queue',
      level: 'warn',
      message: 'no group queue was checked: this transport has no consumer yet',
      fix: 'pass the groups to check: transport.doctor({ groups: [{ channel, group }] })',
    });

  const stream = await probeQueue(connection, names.deadLetters, { 'x-queue-type': 'stream' });
  findings.push(
    stream.kind === 'other'
      ? {
          check: 'rabbitmq.dead-letters',
          level: 'fail',
          message: `${names.deadLetters} is not a stream (${stream.message})`,
          fix: 'delete it; the transport declares it again as a stream on the next dead letter',
        }
      : {
          check: 'rabbitmq.dead-letters',
          level: 'ok',
          message:
            stream.kind === 'same'
              ? `${names.deadLetters} is a durable stream`
              : `${names.deadLetters} will be declared with the first dead letter`,
        },
  );

  findings.push(
    {
      check: 'rabbitmq.delivery-limit-policy',
      level: 'warn',
      message: 'policies cannot be read over AMQP, so a policy delivery-limit was not checked',
      fix: `run \`rabbitmqctl list_policies\` and make sure no policy on the group queues sets delivery-limit below ${retryBudget}`,
    },
    {
      check: 'rabbitmq.consumer-timeout',
      level: 'warn',
      message: 'consumer_timeout cannot be read over AMQP, so it was not checked',
      fix: 'run `rabbitmqctl eval "application:get_env(rabbit, consumer_timeout)."`; it must be longer than your slowest handler (the bus timeoutMs), or the broker closes the channel and redelivers',
    },
  );
  return findings;
}
