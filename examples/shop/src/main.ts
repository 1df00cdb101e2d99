import { runShop } from './shop.ts';
import { shopTransport } from './transport.ts';

const { transport, where, openStore, storeWhere, cleanUp } = shopTransport();
console.log(`Tidings shop on ${transport.name} (${where})`);
console.log(`Orders are event-sourced in ${storeWhere}\n`);

try {
  await runShop({ transport, openStore });
} finally {
  await cleanUp();
}
