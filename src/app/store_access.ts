/** What a use case needs to change the store: its layout and a way to take the store-wide lock. */
import type { StoreLayout } from "../store/layout.ts";

/** A use case's access to the store. The use case decides when it holds the lock (never while it prompts). */
export interface StoreAccess {
  readonly layout: StoreLayout;
  /**
   * Takes the store-wide lock (waiting for another dz as the caller decided), ready for a mutation: the home
   * exists and leftovers of an interrupted dz are gone. Release it with `await using`.
   */
  lock(): Promise<AsyncDisposable>;
}
