export * from './address-ranges.js';
export * from './ban-store.js';
