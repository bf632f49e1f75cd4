// A pass-through Worker: every request goes unchanged to the UPSTREAM service
// binding (an external HTTP service in the generated workerd config) and the
// upstream response streams straight back. This is the floor a JS Worker sets.
export default {
  async fetch(request, env) {
    return env.UPSTREAM.fetch(request);
  },
};
