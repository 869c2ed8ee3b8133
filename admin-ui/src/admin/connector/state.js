// What the connector page knows about its connector, shared by its panels. Panels never call
// each other's renderers: a change is published under a topic and every panel that subscribed
// to it re-renders itself.
//
// Topics: 'connector' (status, flags, token, discovery request), 'config-version', 'sources',
// 'mappings', 'discovery' (the guilds and channels the connector reported), 'catalog' (the
// channels of the bot's guilds assigned to this tenant: mirroring targets), 'seats' (the seat
// status of those guilds).
import { seg } from '../../shared/api.js';

export function createConnectorState(tenantKey, connectorId) {
  const subscribers = []; // [topics, fn], in subscription order
  const st = {
    tenantKey,
    connectorId,
    base: `/v1/admin/tenants/${seg(tenantKey)}/connectors/${seg(connectorId)}`,
    connector: null,
    sources: [],
    mappings: [],
    guilds: [],
    channels: [],
    catalogChannels: [],
    /** The tenant's seat status per customer guild (GET .../seats). */
    seats: [],

    /** Calls fn whenever one of `topics` changes (once per change, however many it names). */
    subscribe(topics, fn) {
      subscribers.push([new Set(topics), fn]);
    },
    /** Tells the subscribers of any of `topics`, in the order they subscribed. */
    publish(...topics) {
      for (const [wants, fn] of subscribers) {
        if (topics.some((t) => wants.has(t))) fn();
      }
    },
    /** Replaces some of the fields above and publishes each replaced one as its topic. */
    update(fields) {
      Object.assign(st, fields);
      const topicOf = (k) => (k === 'guilds' || k === 'channels' ? 'discovery' : k === 'catalogChannels' ? 'catalog' : k);
      const topics = Object.keys(fields).map(topicOf);
      st.publish(...new Set(topics));
    },
    /** Every admin write answers with the connector's new config_version. */
    setConfigVersion(v) {
      if (typeof v === 'number' && st.connector) {
        st.connector.config_version = v;
        st.publish('config-version');
      }
    },

    channelName(id) {
      return st.channels.find((c) => c.channel_id === id)?.name
        || st.catalogChannel(id)?.name || null;
    },
    /** The bot's channel `id` in one of this tenant's guilds, or undefined. */
    catalogChannel(id) {
      return st.catalogChannels.find((c) => c.channel_id === id);
    },
    /** The seat status of the guild a target channel is in, or undefined (no seat config). */
    seatOf(channelId) {
      const g = st.catalogChannel(channelId)?.guild_id;
      return g ? st.seats.find((s) => s.guild_id === g) : undefined;
    },
    channelLabel(id) {
      const name = st.channelName(id);
      return name ? `#${name}` : id;
    },
    guildLabel(id) {
      return st.guilds.find((g) => g.guild_id === id)?.name || id;
    },
  };
  return st;
}
