// The wire between a C++ program and its judge: plain data only, by the declared type.
// Both sides are compiled with the same function signature, so a value needs no tag: bool is
// one byte (0 or 1), other numbers their bytes, strings and containers a count and then their
// items. Decoding checks every count against the bytes left: a message the program forged
// ends the judge's run as a failure, never as a pass.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
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

// Containers are told apart by what they declare, so no header of theirs is included here (the
// program's own includes declare the types its signature uses).
template <class T, class = void> struct is_map : std::false_type {};
template <class T> struct is_map<T, std::void_t<typename T::key_type, typename T::mapped_type>> : std::true_type {};
template <class T, class = void> struct is_set : std::false_type {};
template <class T> struct is_set<T, std::void_t<typename T::key_type>> : std::integral_constant<bool, !is_map<T>::value> {};
template <class T, class = void> struct is_sequence : std::false_type {};
template <class T>
struct is_sequence<T, std::void_t<typename T::value_type, decltype(std::declval<T&>().push_back(std::declval<typename T::value_type>()))>>
    : std::true_type {};
template <class T, class = void> struct is_tuple : std::false_type {};
template <class T> struct is_tuple<T, std::void_t<decltype(std::tuple_size<T>::value)>>
    : std::integral_constant<bool, !is_sequence<T>::value> {};

template <class T, std::size_t... I> void put_items(std::string& out, const T& value, std::index_sequence<I...>) {
    using std::get;
    (void)std::initializer_list<int>{(leti_wire::put(out, get<I>(value)), 0)...};
}
template <class T, std::size_t... I> T get_items(Reader& in, std::index_sequence<I...>) {
    return T{leti_wire::get<std::remove_cv_t<std::tuple_element_t<I, T>>>(in)...};
}
template <class T> struct codec<T, std::enable_if_t<is_tuple<T>::value>> {
    static constexpr std::size_t size = std::tuple_size<T>::value;
    static void put(std::string& out, const T& value) { put_items(out, value, std::make_index_sequence<size>()); }
    static T get(Reader& in) { return get_items<T>(in, std::make_index_sequence<size>()); }
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

template <class T> struct codec<T, std::enable_if_t<is_sequence<T>::value && !std::is_same<T, std::string>::value>>
    : items<T, typename T::value_type, push_back> {};
template <class T> struct codec<T, std::enable_if_t<is_set<T>::value>> : items<T, typename T::key_type, insert> {};
template <class T> struct codec<T, std::enable_if_t<is_map<T>::value>>
    : items<T, std::pair<typename T::key_type, typename T::mapped_type>, insert> {};

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
