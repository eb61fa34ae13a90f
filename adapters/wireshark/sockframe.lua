-- sockframe.lua: a Wireshark dissector for the sockframe wire format, version 1
-- (docs/wire-format.md in the sockframe repository is the contract this follows).
--
-- Load it with `wireshark -X lua_script:sockframe.lua` / `tshark -X lua_script:sockframe.lua`,
-- or copy it into Wireshark's personal Lua plugins folder (Help > About > Folders).
--
-- It claims TCP traffic two ways:
--   * on one TCP port, preference `sockframe.tcp_port` (default 8080, `sockframe serve`'s
--     default; 0 turns it off). There every byte is shown as sockframe, so a peer speaking
--     something else gets a "bad magic" expert info, as the receiver would answer it;
--   * on any other port, as the heuristic dissector `sockframe_tcp`, when a segment starts
--     with the magic `f5 46` and version `01` (the conversation then stays sockframe).
-- Frames split across TCP segments are reassembled, and several frames in one segment are
-- all shown. The payload is handed on to the `data` dissector.
--
-- Written for the Lua 5.2 of Wireshark 3.x/4.0 and the Lua 5.4 of later versions: no
-- native bit operators (the `bit` library Wireshark provides instead), no utf8 library.

local sockframe = Proto("sockframe", "sockframe framing protocol")

local MAGIC0, MAGIC1 = 0xF5, 0x46
local VERSION = 1
local PREFIX_LEN = 5
local FLAG_MORE = 0x01

-- Kinds 0..=63 are sockframe's, 64..=255 the application's (spec section 3).
local KIND_NAMES = {
    [0] = "DATA",
    [1] = "ERROR",
    [2] = "PING",
    [3] = "PONG",
}
local KIND_ERROR = 1

local function kind_name(kind)
    if KIND_NAMES[kind] then
        return KIND_NAMES[kind]
    elseif kind >= 64 then
        return "application kind " .. kind
    end
    return "reserved kind " .. kind
end

---------------------------------------------------------------------------------------------
-- Fields

local f = {
    magic = ProtoField.uint16("sockframe.magic", "Magic", base.HEX),
    version = ProtoField.uint8("sockframe.version", "Version", base.DEC),
    header_len = ProtoField.uint16("sockframe.header_len", "Header length", base.DEC),
    kind = ProtoField.uint8("sockframe.kind", "Kind", base.DEC, KIND_NAMES),
    id = ProtoField.uint32("sockframe.id", "Id", base.DEC),
    len = ProtoField.uint64("sockframe.len", "Payload length", base.DEC),
    flags = ProtoField.uint8("sockframe.flags", "Flags", base.HEX),
    flag_more = ProtoField.bool("sockframe.flags.more", "MORE (more fragments follow)", 8,
        { "Set", "Not set" }, FLAG_MORE),
    flag_reserved = ProtoField.uint8("sockframe.flags.reserved", "Reserved bits", base.HEX,
        nil, 0xFE),
    name = ProtoField.string("sockframe.name", "Name", base.UNICODE),
    crc = ProtoField.uint32("sockframe.crc", "CRC-32C", base.HEX),
    meta_count = ProtoField.uint32("sockframe.meta.count", "Metadata entries", base.DEC),
    meta_key = ProtoField.string("sockframe.meta.key", "Key", base.UNICODE),
    meta_value = ProtoField.string("sockframe.meta.value", "Value", base.UNICODE),
    error_code = ProtoField.string("sockframe.error_code", "Error code", base.UNICODE),
    error_message = ProtoField.string("sockframe.error_message", "Error message", base.UNICODE),
    unknown = ProtoField.bytes("sockframe.header.unknown", "Header bytes after the v1 fields"),
    undecoded = ProtoField.bytes("sockframe.undecoded", "Bytes not decodable as sockframe"),
}
sockframe.fields = {
    f.magic, f.version, f.header_len, f.kind, f.id, f.len, f.flags, f.flag_more,
    f.flag_reserved, f.name, f.crc, f.meta_count, f.meta_key, f.meta_value, f.error_code,
    f.error_message, f.unknown, f.undecoded,
}

local e = {
    bad_magic = ProtoExpert.new("sockframe.bad_magic", "Bad magic (not a sockframe stream)",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_version = ProtoExpert.new("sockframe.bad_version", "Unsupported wire-format version",
        expert.group.PROTOCOL, expert.severity.ERROR),
    bad_header = ProtoExpert.new("sockframe.bad_header", "Malformed header",
        expert.group.MALFORMED, expert.severity.ERROR),
    bad_checksum = ProtoExpert.new("sockframe.bad_checksum", "Payload checksum mismatch",
        expert.group.CHECKSUM, expert.severity.ERROR),
    error_frame = ProtoExpert.new("sockframe.error_frame", "ERROR frame",
        expert.group.RESPONSE_CODE, expert.severity.WARN),
}
sockframe.experts = { e.bad_magic, e.bad_version, e.bad_header, e.bad_checksum, e.error_frame }

sockframe.prefs.tcp_port = Pref.uint("TCP port",
    8080, "TCP port always dissected as sockframe (0: none; other ports by heuristic)")
sockframe.prefs.verify_crc = Pref.bool("Verify checksums", true,
    "Compute the CRC-32C of payloads that carry one and flag mismatches")

local data_dissector = Dissector.get("data")

---------------------------------------------------------------------------------------------
-- Primitive decoding (spec section 3). Every reader takes (tvb, pos, stop) and returns the
-- value and the position after it, or nil and the problem, the reference decoder's wording.

local ENDED = "header ended before the field"
local BAD_VARINT = "bad varint (too long or overflowing)"
local BAD_TAG = "bad option tag (not 0 or 1)"
local BAD_UTF8 = "not valid UTF-8"

-- An unsigned LEB128 varint of at most `max_bytes` bytes whose last byte is at most
-- `last_max`. Returns the value as two 32-bit halves (Lua numbers are doubles: a u64 does
-- not fit one exactly), then the next position.
local function varint(tvb, pos, stop, max_bytes, last_max)
    local lo, hi = 0, 0
    for i = 0, max_bytes - 1 do
        if pos >= stop then return nil, ENDED end
        local b = tvb(pos, 1):uint()
        pos = pos + 1
        local group = b % 128
        local shift = 7 * i
        if shift < 32 then
            local v = group * 2 ^ shift
            lo = lo + v % 2 ^ 32
            hi = hi + math.floor(v / 2 ^ 32)
        else
            hi = hi + group * 2 ^ (shift - 32)
        end
        if b < 128 then
            if i == max_bytes - 1 and b > last_max then return nil, BAD_VARINT end
            return lo, pos, hi
        end
    end
    return nil, BAD_VARINT
end

local function varint_u32(tvb, pos, stop)
    return varint(tvb, pos, stop, 5, 0x0F)
end

local function varint_u64(tvb, pos, stop)
    return varint(tvb, pos, stop, 10, 0x01)
end

-- Well-formed UTF-8 (Unicode table 3-7, the rules of Rust's `str::from_utf8`: no overlong
-- forms, no surrogates, nothing above U+10FFFF). Per lead byte range: the number of
-- continuation bytes and the range allowed for the first of them.
local UTF8_LEADS = {
    { 0xC2, 0xDF, 1, 0x80, 0xBF },
    { 0xE0, 0xE0, 2, 0xA0, 0xBF },
    { 0xE1, 0xEC, 2, 0x80, 0xBF },
    { 0xED, 0xED, 2, 0x80, 0x9F },
    { 0xEE, 0xEF, 2, 0x80, 0xBF },
    { 0xF0, 0xF0, 3, 0x90, 0xBF },
    { 0xF1, 0xF3, 3, 0x80, 0xBF },
    { 0xF4, 0xF4, 3, 0x80, 0x8F },
}

local function valid_utf8(s)
    local i, n = 1, #s
    while i <= n do
        local c = s:byte(i)
        if c >= 0x80 then
            local lead
            for _, l in ipairs(UTF8_LEADS) do
                if c >= l[1] and c <= l[2] then lead = l; break end
            end
            if lead == nil then return false end
            for k = 1, lead[3] do
                local d = s:byte(i + k)
                local lo, hi = 0x80, 0xBF
                if k == 1 then lo, hi = lead[4], lead[5] end
                if d == nil or d < lo or d > hi then return false end
            end
            i = i + lead[3]
        end
        i = i + 1
    end
    return true
end

-- A string: varint byte length, then UTF-8. Returns the string, its bytes' position and
-- length, and the next position.
local function str(tvb, pos, stop)
    local n, after, n_hi = varint_u64(tvb, pos, stop)
    if n == nil then return nil, after end
    if n_hi > 0 or n > stop - after then return nil, ENDED end
    local s = n > 0 and tvb:raw(after, n) or ""
    if not valid_utf8(s) then return nil, BAD_UTF8 end
    return s, after, n, after + n
end

-- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven.
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if bit.band(c, 1) == 1 then
            c = bit.bxor(bit.rshift(c, 1), 0x82F63B78)
        else
            c = bit.rshift(c, 1)
        end
    end
    CRC_TABLE[i] = c
end

local function crc32c(tvb, pos, len)
    local c = 0xFFFFFFFF
    local step = 4096
    for chunk = pos, pos + len - 1, step do
        local s = tvb:raw(chunk, math.min(step, pos + len - chunk))
        for i = 1, #s do
            c = bit.bxor(CRC_TABLE[bit.band(bit.bxor(c, s:byte(i)), 0xFF)], bit.rshift(c, 8))
        end
    end
    c = bit.bxor(c, 0xFFFFFFFF)
    if c < 0 then c = c + 2 ^ 32 end
    return c
end

local function hex_bytes(tvb, pos, len)
    local out = {}
    for i = 0, len - 1 do
        out[#out + 1] = string.format("%02x", tvb(pos + i, 1):uint())
    end
    return table.concat(out, " ")
end

---------------------------------------------------------------------------------------------
-- The header (spec section 3): the seven fields in order, inside `header_len` bytes.

-- Decodes the header at [pos, stop). Returns a table of the fields, each with its position
-- (`<field>_at`, `<field>_size`); on a fault, `err` is the reference decoder's message and
-- `len` is set only when the fault comes after the `len` field.
local function parse_header(tvb, pos, stop)
    local h = { meta = {} }
    local field = "kind"
    local function fail(problem)
        h.err = string.format("bad header: field `%s`: %s", field, problem)
        h.err_at = pos
        return h
    end
    if pos >= stop then return fail(ENDED) end
    h.kind, h.kind_at = tvb(pos, 1):uint(), pos
    pos = pos + 1

    field = "id"
    local id, after = varint_u32(tvb, pos, stop)
    if id == nil then return fail(after) end
    h.id, h.id_at, h.id_size, pos = id, pos, after - pos, after

    field = "len"
    local lo, after_len, hi = varint_u64(tvb, pos, stop)
    if lo == nil then return fail(after_len) end
    h.len = UInt64.new(lo, hi)
    h.len_number = hi * 2 ^ 32 + lo
    h.len_at, h.len_size, pos = pos, after_len - pos, after_len

    field = "flags"
    if pos >= stop then return fail(ENDED) end
    h.flags, h.flags_at = tvb(pos, 1):uint(), pos
    pos = pos + 1

    field = "name"
    if pos >= stop then return fail(ENDED) end
    local tag = tvb(pos, 1):uint()
    if tag > 1 then return fail(BAD_TAG) end
    h.name_at = pos
    pos = pos + 1
    if tag == 1 then
        local s, at, n, next_pos = str(tvb, pos, stop)
        if s == nil then return fail(at) end
        h.name, h.name_str_at, h.name_str_size, pos = s, at, n, next_pos
    end
    h.name_size = pos - h.name_at

    field = "crc"
    if pos >= stop then return fail(ENDED) end
    tag = tvb(pos, 1):uint()
    if tag > 1 then return fail(BAD_TAG) end
    h.crc_at = pos
    pos = pos + 1
    if tag == 1 then
        local crc, after_crc = varint_u32(tvb, pos, stop)
        if crc == nil then return fail(after_crc) end
        h.crc, pos = crc, after_crc
    end
    h.crc_size = pos - h.crc_at

    field = "meta"
    local count, after_count, count_hi = varint_u64(tvb, pos, stop)
    if count == nil then return fail(after_count) end
    h.meta_at, h.meta_count_size = pos, after_count - pos
    h.meta_count = count_hi * 2 ^ 32 + count
    pos = after_count
    for i = 1, h.meta_count do
        local key, key_at, key_n, after_key = str(tvb, pos, stop)
        if key == nil then return fail(key_at) end
        local value, value_at, value_n, after_value = str(tvb, after_key, stop)
        if value == nil then return fail(value_at) end
        h.meta[i] = {
            key = key, key_at = key_at, key_n = key_n,
            value = value, value_at = value_at, value_n = value_n,
            at = pos, size = after_value - pos,
        }
        pos = after_value
    end
    h.meta_size = pos - h.meta_at
    h.unknown_at, h.unknown_size = pos, stop - pos
    return h
end

---------------------------------------------------------------------------------------------
-- The tree

local function add_prefix(t, tvb, pos, header_len)
    t:add(f.magic, tvb(pos, 2))
    t:add(f.version, tvb(pos + 2, 1))
    t:add_le(f.header_len, tvb(pos + 3, 2))
    return header_len
end

local function summary(h)
    local s = string.format("%s id=%d len=%s", kind_name(h.kind), h.id, tostring(h.len))
    if bit.band(h.flags, FLAG_MORE) ~= 0 then s = s .. " MORE" end
    if h.name then s = s .. string.format(" name=%q", h.name) end
    return s
end

local function add_header(t, tvb, h)
    t:add(f.kind, tvb(h.kind_at, 1), h.kind,
        string.format("Kind: %s (%d)", kind_name(h.kind), h.kind))
    t:add(f.id, tvb(h.id_at, h.id_size), h.id)
    t:add(f.len, tvb(h.len_at, h.len_size), h.len)
    local flags = t:add(f.flags, tvb(h.flags_at, 1))
    flags:add(f.flag_more, tvb(h.flags_at, 1))
    flags:add(f.flag_reserved, tvb(h.flags_at, 1))
    if h.name then
        -- The string's own bytes: `sockframe.name` filters on its text.
        t:add(f.name, tvb(h.name_str_at, h.name_str_size), h.name)
    end
    if h.crc then
        t:add(f.crc, tvb(h.crc_at, h.crc_size), h.crc)
    end
    local meta = t:add(f.meta_count, tvb(h.meta_at, h.meta_size), h.meta_count)
    for _, m in ipairs(h.meta) do
        local entry = meta:add(tvb(m.at, m.size), string.format("%s = %s", m.key, m.value))
        entry:add(f.meta_key, tvb(m.key_at, m.key_n > 0 and m.key_n or 0), m.key)
        entry:add(f.meta_value, tvb(m.value_at, m.value_n > 0 and m.value_n or 0), m.value)
    end
    if h.unknown_size > 0 then
        t:add(f.unknown, tvb(h.unknown_at, h.unknown_size))
    end
end

-- The payload: checksum, ERROR frame details, then the `data` dissector.
local function add_payload(t, tvb, pinfo, h, pos)
    local n = h.len_number
    if h.crc and sockframe.prefs.verify_crc then
        local got = crc32c(tvb, pos, n)
        if got ~= h.crc then
            t:add_tvb_expert_info(e.bad_checksum, tvb(h.crc_at, h.crc_size), string.format(
                "payload checksum mismatch: header says crc32c %08x, payload has %08x",
                h.crc, got))
        end
    end
    if h.kind == KIND_ERROR then
        local code
        for _, m in ipairs(h.meta) do
            if m.key == "code" then code = m; break end
        end
        if code then
            t:add(f.error_code, tvb(code.value_at, code.value_n), code.value)
        end
        local message = n > 0 and tvb:raw(pos, n) or ""
        if n > 0 and valid_utf8(message) then
            t:add(f.error_message, tvb(pos, n), message)
        end
        t:add_proto_expert_info(e.error_frame, string.format("ERROR frame: %s: %s",
            code and code.value or "(no code)", message))
    end
    if n > 0 then
        data_dissector:call(tvb(pos, n):tvb(), pinfo, t)
    end
end

-- The bytes from `pos` on cannot be framed any more (the stream is lost, as it is for a
-- receiver): shows them, with the expert info that says why.
local function add_lost(tree, tvb, pos, expert_info, message)
    local t = tree:add(sockframe, tvb(pos), "sockframe, not a frame")
    t:add(f.undecoded, tvb(pos))
    t:add_tvb_expert_info(expert_info, tvb(pos), message)
end

---------------------------------------------------------------------------------------------
-- The stream: as many frames as the segment holds, asking TCP for more when one is cut.

-- Asks TCP for `more` bytes after the data at [pos, end); a negative `more` means "one more
-- segment" (the size is not known yet).
local function need_more(pinfo, pos, more)
    pinfo.desegment_offset = pos
    pinfo.desegment_len = more > 0 and more or DESEGMENT_ONE_MORE_SEGMENT
end

local function dissect_stream(tvb, pinfo, tree)
    local total = tvb:len()
    local pos = 0
    local summaries = {}
    pinfo.cols.protocol = "sockframe"
    while pos < total do
        local avail = total - pos
        -- The magic, byte by byte as the reference receiver checks it.
        local b0 = tvb(pos, 1):uint()
        local b1 = avail >= 2 and tvb(pos + 1, 1):uint() or nil
        if b0 ~= MAGIC0 or (b1 ~= nil and b1 ~= MAGIC1) then
            local seen = hex_bytes(tvb, pos, math.min(avail, 4))
            add_lost(tree, tvb, pos, e.bad_magic, string.format(
                "not a sockframe stream: expected magic f5 46, got %s", seen))
            summaries[#summaries + 1] = "bad magic"
            break
        end
        if avail >= 3 and tvb(pos + 2, 1):uint() ~= VERSION then
            add_lost(tree, tvb, pos, e.bad_version, string.format(
                "unsupported wire-format version %d, this dissector speaks %d",
                tvb(pos + 2, 1):uint(), VERSION))
            summaries[#summaries + 1] = "bad version"
            break
        end
        if avail < PREFIX_LEN then
            need_more(pinfo, pos, PREFIX_LEN - avail)
            break
        end
        local header_len = tvb(pos + 3, 2):le_uint()
        local head_end = pos + PREFIX_LEN + header_len
        if head_end > total then
            need_more(pinfo, pos, head_end - total)
            break
        end
        local h = parse_header(tvb, pos + PREFIX_LEN, head_end)
        if h.err and h.len == nil then
            -- No payload length: where this frame ends is unknown.
            local t = tree:add(sockframe, tvb(pos), "sockframe, malformed header")
            add_prefix(t, tvb, pos, header_len)
            t:add(f.undecoded, tvb(pos + PREFIX_LEN))
            t:add_tvb_expert_info(e.bad_header, tvb(h.err_at < total and h.err_at or pos),
                h.err)
            summaries[#summaries + 1] = "malformed header"
            break
        end
        local frame_end = head_end + h.len_number
        if frame_end > total then
            need_more(pinfo, pos, frame_end - total)
            break
        end
        local t = tree:add(sockframe, tvb(pos, frame_end - pos))
        add_prefix(t, tvb, pos, header_len)
        if h.err then
            t:add(f.kind, tvb(h.kind_at, 1), h.kind,
                string.format("Kind: %s (%d)", kind_name(h.kind), h.kind))
            t:add(f.id, tvb(h.id_at, h.id_size), h.id)
            t:add(f.len, tvb(h.len_at, h.len_size), h.len)
            t:add_tvb_expert_info(e.bad_header, tvb(h.err_at < head_end and h.err_at
                or head_end - 1, 1), h.err)
            t:set_text("sockframe, malformed header")
            summaries[#summaries + 1] = "malformed header"
        else
            add_header(t, tvb, h)
            add_payload(t, tvb, pinfo, h, head_end)
            t:set_text("sockframe, " .. summary(h))
            summaries[#summaries + 1] = summary(h)
        end
        pos = frame_end
    end
    if #summaries > 0 then
        pinfo.cols.info = table.concat(summaries, ", ")
    end
    return total
end

function sockframe.dissector(tvb, pinfo, tree)
    return dissect_stream(tvb, pinfo, tree)
end

-- Heuristic: a segment that starts with the magic and the version byte.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < 3 or tvb(0, 1):uint() ~= MAGIC0 or tvb(1, 1):uint() ~= MAGIC1
        or tvb(2, 1):uint() ~= VERSION then
        return false
    end
    -- The rest of this TCP conversation goes straight to this dissector.
    pinfo.conversation = sockframe
    dissect_stream(tvb, pinfo, tree)
    return true
end
sockframe:register_heuristic("tcp", heuristic)

local registered_port = 0
local function register_port()
    local tcp_port = DissectorTable.get("tcp.port")
    if registered_port ~= 0 then
        tcp_port:remove(registered_port, sockframe)
    end
    registered_port = sockframe.prefs.tcp_port
    if registered_port ~= 0 then
        tcp_port:add(registered_port, sockframe)
    end
end

function sockframe.prefs_changed()
    register_port()
end
register_port()
