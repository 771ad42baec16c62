// The judge's side: the tests run here, calling the program's functions through the channel
// (requests on fd 4, replies on fd 5) and comparing the plain values they get back. The report
// (JSON on fd 3) says whether the tests ran to their end, or how they failed: a failed assert is
// reported as glibc prints it for the single program (prompt + completion + tests), at its line
// there (the tests' own line plus the offset given as argv[1]).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/prctl.h>

namespace leti_judge {

const int REPORT = 3, REQUESTS = 4, REPLIES = 5;
long line_offset = 0;
bool reported = false;

inline std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += char(c);
        }
    }
    return out + "\"";
}

inline void report(const std::string& fields) {
    if (reported) return;
    reported = true;
    std::string message = "{\"judged\": \"apart\", " + fields + "}";
    leti_wire::write_all(REPORT, message.data(), message.size());
}

[[noreturn]] inline void ended() {  // the program's process ended, or wrote what it was not asked
    report("\"completed\": false, \"ended\": true");
    _exit(0);
}

inline void finished(int status, void*) {
    report(status == 0 ? "\"completed\": true" : "\"completed\": false");
}

__attribute__((constructor)) inline void start(int argc, char** argv, char**) {
    prctl(PR_SET_DUMPABLE, 0);  // the program's process may not read this one
    std::signal(SIGPIPE, SIG_IGN);  // a program that closed the channel ends the run, not the judge
    if (argc > 1) line_offset = std::strtol(argv[1], nullptr, 10);
    on_exit(finished, nullptr);
}

template <class Sig> struct remote;
template <class R, class... A> struct remote<R(A...)> {
    static R call(std::uint32_t index, A... args) {
        std::string message, reply;
        leti_wire::put(message, index);
        (void)std::initializer_list<int>{(leti_wire::put(message, static_cast<const leti_wire::plain<A>&>(args)), 0)...};
        if (!leti_wire::send(REQUESTS, message) || !leti_wire::receive(REPLIES, reply)) ended();
        leti_wire::Reader in{reply.data(), reply.data() + reply.size()};
        if constexpr (std::is_void<R>::value) {
            copy_back(in, args...);
        } else {
            leti_wire::plain<R> value = leti_wire::get<leti_wire::plain<R>>(in);
            copy_back(in, args...);
            return value;
        }
    }
    template <class... T> static void copy_back(leti_wire::Reader& in, T&... args) {
        (void)std::initializer_list<int>{(changed_back<A>(in, args), 0)...};
        if (!in.ok || in.at != in.end) ended();
    }
    template <class Declared, class T> static void changed_back(leti_wire::Reader& in, T& arg) {
        if constexpr (leti_wire::changed<Declared>::value) {
            auto value = leti_wire::get<leti_wire::plain<Declared>>(in);
            if (in.ok) arg = std::move(value);
        }
    }
};

}  // namespace leti_judge

extern "C" void __assert_fail(const char* assertion, const char* file, unsigned int line, const char* function) noexcept {
    std::string text = std::string(file) + ":" + std::to_string(long(line) + leti_judge::line_offset) + ": " + function +
                       ": Assertion `" + assertion + "' failed.";
    leti_judge::report("\"completed\": false, \"error\": {\"type\": \"AssertionError\", \"message\": " +
                       leti_judge::quoted(text) + ", \"text\": " + leti_judge::quoted(text) + "}");
    _exit(0);
}
