// The local cloud: PostgreSQL servers on this machine, reachable over loopback only.
export { LOCAL_JSON_VERSION, LOOPBACK_CIDRS, renderLocalJson } from './local-json.ts';
