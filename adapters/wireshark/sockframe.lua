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
--   * on any other port, as the heuristic dissector `sockframe_tcp`, when a conversation
--     starts with the magic `f5 46` and version `01` (it then stays sockframe).
-- Frames split across TCP segments are reassembled, and several frames in one segment are
-- all shown. The payload is handed on to the `data` dissector.
--
-- Faults are reported as a receiver finds them (spec section 7.5): the prefix byte by byte,
-- the header's fields as soon as their bytes are in (a frame whose header is bad is shown
-- without waiting for its payload), limits with this implementation's defaults (they are
-- preferences) or those a limits reply announced. After a fault that loses the stream (every one but a wrong checksum or a
-- broken trailer rule, where the frame's end is still certain) the rest of that direction
-- is shown as not followed, as a receiver would have closed.
--
-- Written for the Lua 5.2 of Wireshark 3.x/4.0 and the Lua 5.4 of later versions: no
-- native bit operators (the `bit` library Wireshark provides instead), no utf8 library.
-- One file on purpose: installing it is copying it.
--
-- Tested by tests/tests/wireshark/ (live captures of the desktop server and the board, and
-- damaged streams written to a pcap), against the Rust core and the spec's own cases.

local sockframe = Proto("sockframe", "sockframe framing protocol")

local MAGIC0, MAGIC1 = 0xF5, 0x46
local VERSION = 1
local PREFIX_LEN = 5
local FLAG_MORE = 0x01
local FLAG_TRAILER = 0x02
local KIND_ERROR, KIND_PONG, KIND_END, KIND_ABORT = 1, 3, 4, 5
-- ERROR and ABORT messages are at most 200 bytes (spec section 7.1).
local MESSAGE_MAX = 200

-- Kinds 0..=63 are sockframe's, 64..=255 the application's (spec section 3).
local KIND_NAMES = {
    [0] = "DATA",
    [1] = "ERROR",
    [2] = "PING",
    [3] = "PONG",
    [4] = "END",
    [5] = "ABORT",
}

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
    flag_trailer = ProtoField.bool("sockframe.flags.trailer",
        "TRAILER (an END or ABORT follows the payload)", 8, { "Set", "Not set" }, FLAG_TRAILER),
    flag_reserved = ProtoField.uint8("sockframe.flags.reserved", "Reserved bits", base.HEX,
        nil, 0xFC),
    name = ProtoField.string("sockframe.name", "Name", base.UNICODE),
    crc = ProtoField.uint32("sockframe.crc", "CRC-32C", base.HEX),
    meta_count = ProtoField.uint64("sockframe.meta.count", "Metadata entries", base.DEC),
    meta_key = ProtoField.string("sockframe.meta.key", "Key", base.UNICODE),
    meta_value = ProtoField.string("sockframe.meta.value", "Value", base.UNICODE),
    error_code = ProtoField.string("sockframe.error_code", "Error code", base.UNICODE),
    error_message = ProtoField.string("sockframe.error_message", "Error message", base.UNICODE),
    unknown = ProtoField.bytes("sockframe.header.unknown", "Header bytes after the v1 fields"),
    undecoded = ProtoField.bytes("sockframe.undecoded", "Bytes not decoded as sockframe"),
}
sockframe.fields = {
    f.magic, f.version, f.header_len, f.kind, f.id, f.len, f.flags, f.flag_more,
    f.flag_trailer, f.flag_reserved, f.name, f.crc, f.meta_count, f.meta_key, f.meta_value,
    f.error_code, f.error_message, f.unknown, f.undecoded,
}

-- One expert info per error code of spec section 7.3 the bytes can show (named after the
-- code), and two notes: ERROR frames and aborted payloads.
local function expert_info(code, text, group)
    return ProtoExpert.new("sockframe." .. code:gsub("-", "_"), text, group,
        expert.severity.ERROR)
end
local e = {
    ["bad-magic"] = expert_info("bad-magic", "Bad magic (not a sockframe stream)",
        expert.group.MALFORMED),
    ["bad-version"] = expert_info("bad-version", "Unsupported wire-format version",
        expert.group.PROTOCOL),
    ["header-too-large"] = expert_info("header-too-large", "Header over the receiver's limit",
        expert.group.PROTOCOL),
    ["payload-too-large"] = expert_info("payload-too-large",
        "Payload over the receiver's limit", expert.group.PROTOCOL),
    ["bad-header"] = expert_info("bad-header", "Malformed header", expert.group.MALFORMED),
    ["too-much-metadata"] = expert_info("too-much-metadata",
        "More metadata entries than the receiver's limit", expert.group.PROTOCOL),
    ["bad-trailer"] = expert_info("bad-trailer", "Trailer rule broken", expert.group.SEQUENCE),
    ["bad-checksum"] = expert_info("bad-checksum", "Payload checksum mismatch",
        expert.group.CHECKSUM),
    error_frame = ProtoExpert.new("sockframe.error_frame", "ERROR frame",
        expert.group.RESPONSE_CODE, expert.severity.WARN),
    aborted = ProtoExpert.new("sockframe.aborted", "Payload aborted",
        expert.group.SEQUENCE, expert.severity.WARN),
}
sockframe.experts = {}
for _, x in pairs(e) do
    table.insert(sockframe.experts, x)
end

sockframe.prefs.tcp_port = Pref.uint("TCP port",
    8080, "TCP port always dissected as sockframe (0: none; other ports by heuristic)")
sockframe.prefs.max_header = Pref.uint("Largest header", 512,
    "Headers above this many bytes are flagged header-too-large (the receiver's limit)")
sockframe.prefs.max_payload = Pref.uint("Largest payload", 67108864,
    "Payloads above this many bytes are flagged payload-too-large (the receiver's limit)")
sockframe.prefs.max_meta = Pref.uint("Most metadata entries", 8,
    "More entries than this are flagged too-much-metadata (the receiver's limit)")
sockframe.prefs.verify_crc = Pref.bool("Verify checksums", true,
    "Compute the CRC-32C of payloads that carry one and flag mismatches")

local data_dissector = Dissector.get("data")

---------------------------------------------------------------------------------------------
-- Primitive decoding (spec section 3), over a cursor on the header: its bytes run to `hstop`
-- (`header_len`), of which those before `astop` have arrived. A read past `hstop` is a fault
-- (the header ends early); a read past `astop` only means "wait for more". Readers raise
-- {problem = ...} or {need = true}; `parse_header` catches them.

local ENDED = "header ended before the field"
local BAD_VARINT = "bad varint (too long or overflowing)"
local BAD_TAG = "bad option tag (not 0 or 1)"
local BAD_UTF8 = "not valid UTF-8"

local function fault(problem)
    error({ problem = problem }, 0)
end

local function byte(c)
    if c.pos >= c.hstop then fault(ENDED) end
    if c.pos >= c.astop then error({ need = true }, 0) end
    local b = c.tvb(c.pos, 1):uint()
    c.pos = c.pos + 1
    return b
end

-- An unsigned LEB128 varint of at most `max_bytes` bytes whose last byte is at most
-- `last_max`. Returns the value as two 32-bit halves (Lua numbers are doubles: a u64 does
-- not fit one exactly): low, high.
local function varint(c, max_bytes, last_max)
    local lo, hi = 0, 0
    for i = 0, max_bytes - 1 do
        local b = byte(c)
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
            if i == max_bytes - 1 and b > last_max then fault(BAD_VARINT) end
            return lo, hi
        end
    end
    fault(BAD_VARINT)
end

local function varint_u32(c)
    return (varint(c, 5, 0x0F))
end

local function varint_u64(c)
    return varint(c, 10, 0x01)
end

-- An option tag: whether the value follows.
local function option(c)
    local tag = byte(c)
    if tag > 1 then fault(BAD_TAG) end
    return tag == 1
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
-- length.
local function str(c)
    local n, n_hi = varint_u64(c)
    -- Longer than the header: a fault once the header is in; before that, bytes that
    -- simply have not arrived (a receiver at the end of the stream says `truncated`).
    if n_hi > 0 or n > c.astop - c.pos then
        if c.astop < c.hstop then error({ need = true }, 0) end
        fault(ENDED)
    end
    local at = c.pos
    local s = n > 0 and c.tvb:raw(at, n) or ""
    if not valid_utf8(s) then fault(BAD_UTF8) end
    c.pos = at + n
    return s, at, n
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

-- Per direction of each TCP conversation: the frame whose trailer is due (spec 4.1), and
-- the packet where a fault lost the stream. Recorded on the first pass and looked up by
-- packet afterwards, so that dissecting packets again (Wireshark's GUI does, in any order)
-- shows the same.
local trailer_due = {}  -- direction -> { id, crc = {header, payload} or nil } or nil
local due_before = {}   -- packet, offset, first bytes -> the trailer_due entry before it
local lost_from = {}    -- direction -> packet number
local learned = {}      -- direction -> limits the receiver announced, by packet (spec 7.2)

function sockframe.init()
    trailer_due, due_before, lost_from, learned = {}, {}, {}, {}
end

-- The addresses and ports, not `tcp.stream`: a field's value is not available on a first
-- pass without a tree (tshark -2, or a filter).
-- `toward_source`: the other direction.
local function direction(pinfo, toward_source)
    local from, to = { pinfo.src, pinfo.src_port }, { pinfo.dst, pinfo.dst_port }
    if toward_source then from, to = to, from end
    return string.format("%s:%d>%s:%d", tostring(from[1]), from[2], tostring(to[1]), to[2])
end

-- The receiver's limits for frames in this direction: the last ones it announced in a
-- limits reply (a PONG with `max-header`, `max-payload`, `max-meta`, spec 7.2) in an
-- earlier packet, else the preferences (this implementation's defaults).
local function limits_for(dir, number)
    local limits = {
        max_header = sockframe.prefs.max_header,
        max_payload = sockframe.prefs.max_payload,
        max_meta = sockframe.prefs.max_meta,
    }
    for _, l in ipairs(learned[dir] or {}) do
        if l.from < number then limits = l end
    end
    return limits
end

-- Records a limits reply seen in packet `number` for the frames going the other way.
local function learn_limits(pinfo, h)
    local announced = {}
    for _, m in ipairs(h.meta) do
        local n = tonumber(m.value)
        if announced[m.key] == nil and n then announced[m.key] = n end
    end
    if not announced["max-header"] or pinfo.visited then return end
    local toward = direction(pinfo, true)
    local list = learned[toward] or {}
    learned[toward] = list
    local last = list[#list]
    if last and last.from >= pinfo.number then return end
    local defaults = limits_for(toward, 0)
    list[#list + 1] = {
        from = pinfo.number,
        max_header = announced["max-header"],
        max_payload = announced["max-payload"] or defaults.max_payload,
        max_meta = announced["max-meta"] or defaults.max_meta,
    }
end

local function limit_fault(code, what, size, limit)
    return { code = code, message = string.format("%s is %s bytes, limit %d", what,
        tostring(size), limit) }
end

-- The trailer rules of spec 4.1 that `kind`, `id` and `len` break, if any.
local function trailer_fault(due, h)
    local trailer = h.kind == KIND_END or h.kind == KIND_ABORT
    local message
    if due then
        if not trailer or h.id ~= due.id then
            message = string.format("frame %d announced a trailer, got kind %d for frame %d",
                due.id, h.kind, h.id)
        elseif h.kind == KIND_END and h.len_number ~= 0 then
            message = string.format("END of frame %d has a %s-byte payload, must be empty",
                h.id, tostring(h.len))
        elseif h.kind == KIND_ABORT and h.len_number > MESSAGE_MAX then
            message = string.format("ABORT of frame %d has a %s-byte message, limit %d",
                h.id, tostring(h.len), MESSAGE_MAX)
        end
    elseif trailer then
        message = string.format("trailer (kind %d) for frame %d, but no frame announced one",
            h.kind, h.id)
    end
    return message and { code = "bad-trailer", message = message }
end

-- Decodes the header in [pos, hstop), of which [pos, astop) has arrived, in wire order with
-- the receiver's checks in between (spec 7.5). Returns the fields, each with its position;
-- `h.need` when more bytes are needed to go on; `h.fault` ({code, message, at}) for a fault
-- that loses the stream; `h.trailer_fault` for a broken trailer rule (the frame's end is
-- still certain).
local function parse_header(tvb, pos, hstop, astop, due, limits)
    local c = { tvb = tvb, pos = pos, hstop = hstop, astop = astop }
    local h = { meta = {} }
    local field = "kind"
    local ok, err = pcall(function()
        h.kind_at = c.pos
        h.kind = byte(c)
        field = "id"
        h.id_at = c.pos
        h.id = varint_u32(c)
        h.id_size = c.pos - h.id_at
        field = "len"
        h.len_at = c.pos
        local lo, hi = varint_u64(c)
        h.len = UInt64.new(lo, hi)
        h.len_number = hi * 2 ^ 32 + lo
        h.len_size = c.pos - h.len_at
        if h.len_number > limits.max_payload then
            h.fault = limit_fault("payload-too-large", "payload", h.len, limits.max_payload)
            return
        end
        h.trailer_fault = trailer_fault(due, h)
        field = "flags"
        h.flags_at = c.pos
        h.flags = byte(c)
        field = "name"
        h.name_at = c.pos
        if option(c) then
            h.name, h.name_str_at, h.name_str_size = str(c)
        end
        field = "crc"
        h.crc_at = c.pos
        if option(c) then
            h.crc = varint_u32(c)
        end
        h.crc_size = c.pos - h.crc_at
        field = "meta"
        h.meta_at = c.pos
        local count, count_hi = varint_u64(c)
        h.meta_count = UInt64.new(count, count_hi)
        if count_hi > 0 or count > limits.max_meta then
            h.fault = { code = "too-much-metadata", message = string.format(
                "header has %s metadata entries, limit %d", tostring(h.meta_count),
                limits.max_meta) }
            return
        end
        for i = 1, count do
            local at = c.pos
            local key, key_at, key_n = str(c)
            local value, value_at, value_n = str(c)
            h.meta[i] = {
                key = key, key_at = key_at, key_n = key_n,
                value = value, value_at = value_at, value_n = value_n,
                at = at, size = c.pos - at,
            }
        end
        h.meta_size = c.pos - h.meta_at
        h.unknown_at, h.unknown_size = c.pos, hstop - c.pos
    end)
    if not ok then
        if type(err) ~= "table" then error(err, 0) end
        if err.need then
            h.need = true
        else
            h.fault = { code = "bad-header", at = c.pos, message = string.format(
                "bad header: field `%s`: %s", field, err.problem) }
        end
    end
    return h
end

---------------------------------------------------------------------------------------------
-- The tree

local function add_prefix(t, tvb, pos)
    t:add(f.magic, tvb(pos, 2))
    t:add(f.version, tvb(pos + 2, 1))
    t:add_le(f.header_len, tvb(pos + 3, 2))
end

local function summary(h)
    local s = string.format("%s id=%d len=%s", kind_name(h.kind), h.id, tostring(h.len))
    if bit.band(h.flags, FLAG_MORE) ~= 0 then s = s .. " MORE" end
    if bit.band(h.flags, FLAG_TRAILER) ~= 0 then s = s .. " TRAILER" end
    if h.name then s = s .. string.format(" name=%q", h.name) end
    return s
end

-- The fields the header got as far as (all of them for a well-formed one).
local function add_header(t, tvb, h)
    if h.id == nil then return end
    t:add(f.kind, tvb(h.kind_at, 1), h.kind,
        string.format("Kind: %s (%d)", kind_name(h.kind), h.kind))
    t:add(f.id, tvb(h.id_at, h.id_size), h.id)
    if h.len == nil then return end
    t:add(f.len, tvb(h.len_at, h.len_size), h.len)
    if h.flags == nil then return end
    local flags = t:add(f.flags, tvb(h.flags_at, 1))
    flags:add(f.flag_more, tvb(h.flags_at, 1))
    flags:add(f.flag_trailer, tvb(h.flags_at, 1))
    flags:add(f.flag_reserved, tvb(h.flags_at, 1))
    if h.name then
        -- The string's own bytes: `sockframe.name` filters on its text.
        t:add(f.name, tvb(h.name_str_at, h.name_str_size), h.name)
    end
    if h.crc then
        t:add(f.crc, tvb(h.crc_at, h.crc_size), h.crc)
    end
    if h.meta_size == nil then return end
    local meta = t:add(f.meta_count, tvb(h.meta_at, h.meta_size), h.meta_count)
    for _, m in ipairs(h.meta) do
        local entry = meta:add(tvb(m.at, m.size), string.format("%s = %s", m.key, m.value))
        entry:add(f.meta_key, tvb(m.key_at, m.key_n), m.key)
        entry:add(f.meta_value, tvb(m.value_at, m.value_n), m.value)
    end
    if h.unknown_size > 0 then
        t:add(f.unknown, tvb(h.unknown_at, h.unknown_size))
    end
end

-- The payload's checksum: nil when absent (or not verified), else {header, payload}.
local function checksum(tvb, h, pos)
    if h.crc == nil or not sockframe.prefs.verify_crc then return nil end
    return { header = h.crc, payload = crc32c(tvb, pos, h.len_number) }
end

local function add_checksum_fault(t, tvb, range, crc)
    if crc and crc.header ~= crc.payload then
        t:add_tvb_expert_info(e["bad-checksum"], range, string.format(
            "payload checksum mismatch: header says crc32c %08x, payload has %08x",
            crc.header, crc.payload))
    end
end

-- ERROR and ABORT frames: the code and the message.
local function add_report(t, tvb, h, pos)
    local n = h.len_number
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
    local what = h.kind == KIND_ERROR and "ERROR frame" or
        string.format("frame %d aborted", h.id)
    t:add_proto_expert_info(h.kind == KIND_ERROR and e.error_frame or e.aborted,
        string.format("%s: %s: %s", what, code and code.value or "(no code)", message))
end

-- A well-formed frame at [pos, frame_end): its fields, trailer bookkeeping, payload.
-- Returns the trailer now due in this direction.
local function add_frame(t, tvb, pinfo, h, due, head_end)
    add_header(t, tvb, h)
    local trailer = h.kind == KIND_END or h.kind == KIND_ABORT
    local announces = bit.band(h.flags, FLAG_TRAILER) ~= 0
    if h.trailer_fault then
        t:add_tvb_expert_info(e["bad-trailer"], tvb(h.kind_at, h.len_at + h.len_size
            - h.kind_at), h.trailer_fault.message)
    end
    local crc = checksum(tvb, h, head_end)
    local next_due = nil
    if due and trailer and not h.trailer_fault then
        -- This trailer settles the frame before it; a TRAILER bit on it means nothing.
        if h.kind == KIND_END then
            add_checksum_fault(t, tvb, tvb(h.kind_at, 1), due.crc)
        end
    elseif announces and not trailer then
        -- The payload's checksum counts once the END is in (an aborted one is not checked).
        next_due = { id = h.id, crc = crc }
        crc = nil
    end
    add_checksum_fault(t, tvb, tvb(h.crc_at, h.crc_size), crc)
    if h.kind == KIND_ERROR or h.kind == KIND_ABORT then
        add_report(t, tvb, h, head_end)
    elseif h.kind == KIND_PONG then
        learn_limits(pinfo, h)
    end
    if h.len_number > 0 then
        data_dissector:call(tvb(head_end, h.len_number):tvb(), pinfo, t)
    end
    return next_due
end

-- The bytes from `pos` on cannot be framed any more (the stream is lost, as it is for a
-- receiver): what was decoded, the rest as bytes, and the expert info that says why.
local function add_lost(tree, tvb, pos, fault, h)
    local t = tree:add(sockframe, tvb(pos), "sockframe, " .. fault.code)
    if tvb:len() - pos >= PREFIX_LEN then
        add_prefix(t, tvb, pos)
    end
    if h then
        add_header(t, tvb, h)
    end
    t:add(f.undecoded, tvb(pos))
    -- At the faulty field; a header that ends early points at its last byte.
    local at = math.min(fault.at or pos, tvb:len() - 1)
    t:add_tvb_expert_info(e[fault.code], tvb(at), fault.message)
end

---------------------------------------------------------------------------------------------
-- The stream: as many frames as the segment holds, asking TCP for more when one is cut.

-- Asks TCP for `more` bytes after the data at [pos, end); 0 means "one more segment".
-- As `tcp_dissect_pdus` does: one more segment while the frame's length is unknown (the
-- prefix or the header is incomplete), the exact rest once it is known. (Exact requests
-- for the header, then again for the payload, can ask for bytes the same segment holds;
-- Wireshark 4.0's TCP then reassembles differently on a second pass.)
local function need_more(pinfo, pos, more)
    pinfo.desegment_offset = pos
    pinfo.desegment_len = more > 0 and more or DESEGMENT_ONE_MORE_SEGMENT
end

-- The start of a frame the segment does not finish. With TCP reassembly on, TCP holds it
-- and hands it over whole later; with it off, it can only be marked.
local function add_unfinished(tree, tvb, pinfo, pos)
    if pinfo.can_desegment == 0 then
        local t = tree:add(sockframe, tvb(pos), "sockframe, a frame continued in later "
            .. "segments (not shown: TCP reassembly is off, tcp.desegment_tcp_streams)")
        t:add(f.undecoded, tvb(pos))
    end
end

local function dissect_stream(tvb, pinfo, tree)
    local total = tvb:len()
    local dir = direction(pinfo)
    pinfo.cols.protocol = "sockframe"
    if lost_from[dir] and pinfo.number > lost_from[dir] then
        local t = tree:add(sockframe, tvb(), string.format(
            "sockframe, stream not followed after the fault in packet %d", lost_from[dir]))
        t:add(f.undecoded, tvb())
        pinfo.cols.info = "not followed"
        return total
    end
    local function lose(fault)
        if not pinfo.visited then
            lost_from[dir] = math.min(lost_from[dir] or pinfo.number, pinfo.number)
        end
        return fault.code
    end
    local limits = limits_for(dir, pinfo.number)
    local pos = 0
    local summaries = {}
    while pos < total do
        local avail = total - pos
        -- The prefix, byte by byte as a receiver checks it.
        local b0 = tvb(pos, 1):uint()
        local b1 = avail >= 2 and tvb(pos + 1, 1):uint() or nil
        if b0 ~= MAGIC0 or (b1 ~= nil and b1 ~= MAGIC1) then
            local fault = { code = "bad-magic", message = string.format(
                "not a sockframe stream: expected magic f5 46, got %s",
                hex_bytes(tvb, pos, math.min(avail, 4))) }
            add_lost(tree, tvb, pos, fault)
            summaries[#summaries + 1] = lose(fault)
            break
        end
        if avail >= 3 and tvb(pos + 2, 1):uint() ~= VERSION then
            local fault = { code = "bad-version", message = string.format(
                "unsupported wire-format version %d, this dissector speaks %d",
                tvb(pos + 2, 1):uint(), VERSION) }
            add_lost(tree, tvb, pos, fault)
            summaries[#summaries + 1] = lose(fault)
            break
        end
        if avail < PREFIX_LEN then
            need_more(pinfo, pos, 0)
            add_unfinished(tree, tvb, pinfo, pos)
            break
        end
        local header_len = tvb(pos + 3, 2):le_uint()
        if header_len > limits.max_header then
            local fault = limit_fault("header-too-large", "header", header_len,
                limits.max_header)
            add_lost(tree, tvb, pos, fault)
            summaries[#summaries + 1] = lose(fault)
            break
        end
        local head_end = pos + PREFIX_LEN + header_len
        -- One packet may hand over several buffers that start alike (a reassembled frame,
        -- then the rest of the segment), and a second pass may hand over shorter ones (TCP
        -- then knows where the frames end): the frame's first bytes tell them apart.
        -- (Concatenated: Lua 5.2's string.format stops a short string at a zero byte.)
        local ck = pinfo.number .. ":" .. pos .. ":" .. tvb:raw(pos, math.min(avail, 12))
        if due_before[ck] == nil then
            due_before[ck] = { due = trailer_due[dir] }
        end
        local due = due_before[ck].due
        local h = parse_header(tvb, pos + PREFIX_LEN, head_end, math.min(head_end, total), due,
            limits)
        if h.fault then
            add_lost(tree, tvb, pos, h.fault, h)
            summaries[#summaries + 1] = lose(h.fault)
            break
        end
        if h.need then
            need_more(pinfo, pos, 0)
            add_unfinished(tree, tvb, pinfo, pos)
            break
        end
        local frame_end = head_end + h.len_number
        if frame_end > total then
            need_more(pinfo, pos, frame_end - total)
            add_unfinished(tree, tvb, pinfo, pos)
            break
        end
        local t = tree:add(sockframe, tvb(pos, frame_end - pos), "sockframe, " .. summary(h))
        add_prefix(t, tvb, pos)
        local next_due = add_frame(t, tvb, pinfo, h, due, head_end)
        if not pinfo.visited then
            trailer_due[dir] = next_due
        end
        summaries[#summaries + 1] = summary(h)
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
-- A segment shorter than that whose bytes match so far is taken provisionally: TCP is
-- asked for more, and the heuristic runs again on the longer data.
local function heuristic(tvb, pinfo, tree)
    local n = tvb:len()
    local expected = { MAGIC0, MAGIC1, VERSION }
    for i = 1, math.min(n, 3) do
        if tvb(i - 1, 1):uint() ~= expected[i] then return false end
    end
    if n < 3 then
        need_more(pinfo, 0, 0)
        return true
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
