// The wire between a C++ program and its judge: plain data only, by the declared type.
// Both sides are compiled with the same function signature, so a value needs no tag: bool is
// one byte (0 or 1), other numbers their bytes, strings and containers a count and then their
// items. Decoding checks every count against the bytes left: a message the program forged
// ends the judge's run as a failure, never as a pass.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>
#include <unistd.h>

namespace leti_wire {

const std::uint64_t MESSAGE_LIMIT = std::uint64_t(64) << 20;

struct Reader {
    const char* at;
    const char* end;
    bool ok = true;
    bool take(void* into, std::size_t size) {
        if (!ok || std::size_t(end - at) < size) return ok = false;
        std::memcpy(into, at, size);
        at += size;
        return true;
    }
    std::uint64_t count() {  // a count of items, each at least one byte: never more than what is left
        std::uint64_t n = 0;
        take(&n, sizeof n);
        if (n > std::uint64_t(end - at)) ok = false;
        return ok ? n : 0;
    }
};

template <class T, class = void> struct codec;

template <class T> void put(std::string& out, const T& value) { codec<T>::put(out, value); }
template <class T> T get(Reader& in) { return codec<T>::get(in); }

inline void put_count(std::string& out, std::uint64_t n) { out.append(reinterpret_cast<const char*>(&n), sizeof n); }

template <> struct codec<bool> {
    static void put(std::string& out, bool value) { out.push_back(value ? 1 : 0); }
    static bool get(Reader& in) {
        unsigned char byte = 2;
        in.take(&byte, 1);
        if (byte > 1) in.ok = false;
        return byte == 1;
    }
};

template <class T> struct codec<T, std::enable_if_t<std::is_arithmetic<T>::value && !std::is_same<T, bool>::value>> {
    static void put(std::string& out, T value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); }
    static T get(Reader& in) {
        T value{};
        in.take(&value, sizeof value);
        return value;
    }
};

template <class T> struct codec<T, std::enable_if_t<std::is_enum<T>::value>> {
    using U = std::underlying_type_t<T>;
    static void put(std::string& out, T value) { codec<U>::put(out, static_cast<U>(value)); }
    static T get(Reader& in) { return static_cast<T>(codec<U>::get(in)); }
};

template <> struct codec<std::string> {
    static void put(std::string& out, const std::string& value) {
        put_count(out, value.size());
        out += value;
    }
    static std::string get(Reader& in) {
        std::uint64_t n = in.count();
        std::string value(n, '\0');
        if (n) in.take(&value[0], n);
        return value;
    }
};

template <class A, class B> struct codec<std::pair<A, B>> {
    static void put(std::string& out, const std::pair<A, B>& value) {
        leti_wire::put(out, value.first);
        leti_wire::put(out, value.second);
    }
    static std::pair<A, B> get(Reader& in) {
        A first = leti_wire::get<A>(in);
        B second = leti_wire::get<B>(in);
        return {std::move(first), std::move(second)};
    }
};

template <class... T> struct codec<std::tuple<T...>> {
    static void put(std::string& out, const std::tuple<T...>& value) {
        std::apply([&out](const T&... item) { (leti_wire::put(out, item), ...); }, value);
    }
    static std::tuple<T...> get(Reader& in) { return std::tuple<T...>{leti_wire::get<T>(in)...}; }
};

// Sequences and sets: a count, then the items in order; `add` appends one to the container.
template <class C, class Item, class Add> struct items {
    static void put(std::string& out, const C& value) {
        put_count(out, value.size());
        for (const auto& item : value) leti_wire::put(out, static_cast<Item>(item));
    }
    static C get(Reader& in) {
        C value;
        std::uint64_t n = in.count();
        for (std::uint64_t i = 0; i < n && in.ok; i++) Add()(value, leti_wire::get<Item>(in));
        return value;
    }
};
struct push_back { template <class C, class T> void operator()(C& c, T&& item) const { c.push_back(std::forward<T>(item)); } };
struct insert { template <class C, class T> void operator()(C& c, T&& item) const { c.insert(std::forward<T>(item)); } };

template <class T, class A> struct codec<std::vector<T, A>> : items<std::vector<T, A>, T, push_back> {};
template <class T, class A> struct codec<std::list<T, A>> : items<std::list<T, A>, T, push_back> {};
template <class T, class A> struct codec<std::deque<T, A>> : items<std::deque<T, A>, T, push_back> {};
template <class T, class L, class A> struct codec<std::set<T, L, A>> : items<std::set<T, L, A>, T, insert> {};
template <class T, class L, class A> struct codec<std::multiset<T, L, A>> : items<std::multiset<T, L, A>, T, insert> {};
template <class T, class H, class E, class A>
struct codec<std::unordered_set<T, H, E, A>> : items<std::unordered_set<T, H, E, A>, T, insert> {};
template <class K, class V, class L, class A>
struct codec<std::map<K, V, L, A>> : items<std::map<K, V, L, A>, std::pair<K, V>, insert> {};
template <class K, class V, class H, class E, class A>
struct codec<std::unordered_map<K, V, H, E, A>> : items<std::unordered_map<K, V, H, E, A>, std::pair<K, V>, insert> {};

inline bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= std::size_t(n);
    }
    return true;
}

inline bool read_all(int fd, char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::read(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= std::size_t(n);
    }
    return true;
}

// A message: its size (8 bytes), then its bytes.
inline bool send(int fd, const std::string& message) {
    std::uint64_t size = message.size();
    return write_all(fd, reinterpret_cast<const char*>(&size), sizeof size) && write_all(fd, message.data(), message.size());
}

inline bool receive(int fd, std::string& message) {
    std::uint64_t size = 0;
    if (!read_all(fd, reinterpret_cast<char*>(&size), sizeof size) || size > MESSAGE_LIMIT) return false;
    message.assign(size, '\0');
    return size == 0 || read_all(fd, &message[0], size);
}

// The arguments a call may change (non-const lvalue references), sent back after the result.
template <class A> using changed = std::integral_constant<bool,
    std::is_lvalue_reference<A>::value && !std::is_const<std::remove_reference_t<A>>::value>;

template <class A> using plain = std::remove_cv_t<std::remove_reference_t<A>>;

}  // namespace leti_wire
