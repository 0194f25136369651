// The in-memory state store (one process) against the state-store contract.
import { MemoryStateStore } from '../../src/state/memory.ts';
import { stateStoreContract } from '../helpers/state-contract.ts';

stateStoreContract('memory', async (now) => {
  const store = new MemoryStateStore({ now });
  return { store, close: () => store.close() };
});
