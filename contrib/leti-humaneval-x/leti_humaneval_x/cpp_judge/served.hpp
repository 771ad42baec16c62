// The program's side: answers the judge's calls (requests on fd 4, replies on fd 3) with plain
// data, until the judge closes the channel. Appended to the program's own text.
namespace leti_served {

const int REPLIES = 3, REQUESTS = 4;

using handler = void (*)(leti_wire::Reader&, std::string&);

// The arguments of one call, decoded in order (a braced list is evaluated left to right).
template <std::size_t I, class T> struct slot { T value; };
template <class Indices, class... T> struct arguments;
template <std::size_t... I, class... T> struct arguments<std::index_sequence<I...>, T...> : slot<I, T>... {};

template <class Sig> struct entry;
template <class R, class... A> struct entry<R(A...)> {
    static R (*function)(A...);
    template <std::size_t... I> static void call(leti_wire::Reader& in, std::string& out, std::index_sequence<I...>) {
        arguments<std::index_sequence<I...>, leti_wire::plain<A>...> args{{leti_wire::get<leti_wire::plain<A>>(in)}...};
        if (!in.ok) _exit(71);
        if constexpr (std::is_void<R>::value) {
            function(static_cast<slot<I, leti_wire::plain<A>>&>(args).value...);
        } else {
            leti_wire::put(out, static_cast<leti_wire::plain<R>>(
                function(static_cast<slot<I, leti_wire::plain<A>>&>(args).value...)));
        }
        (void)std::initializer_list<int>{(leti_wire::changed<A>::value
            ? (leti_wire::put(out, static_cast<slot<I, leti_wire::plain<A>>&>(args).value), 0) : 0)...};
    }
    static void handle(leti_wire::Reader& in, std::string& out) { call(in, out, std::index_sequence_for<A...>()); }
};
template <class R, class... A> R (*entry<R(A...)>::function)(A...) = nullptr;

template <class Sig> handler serve(Sig* function) {
    entry<Sig>::function = function;
    return &entry<Sig>::handle;
}

inline int run(const handler* handlers, std::uint32_t count) {
    std::string request, reply;
    while (leti_wire::receive(REQUESTS, request)) {
        leti_wire::Reader in{request.data(), request.data() + request.size()};
        std::uint32_t index = leti_wire::get<std::uint32_t>(in);
        if (!in.ok || index >= count) return 71;
        reply.clear();
        handlers[index](in, reply);
        if (!leti_wire::send(REPLIES, reply)) return 0;
    }
    return 0;
}

}  // namespace leti_served
