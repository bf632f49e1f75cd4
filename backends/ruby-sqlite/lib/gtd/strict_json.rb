# frozen_string_literal: true

require "json"
require "strscan"

module Gtd
  # JSON exactly as JavaScript's JSON.parse reads it (RFC 8259), so this backend
  # accepts and refuses the same bodies as bun-sqlite and cf-d1.
  #
  # Ruby's own JSON.parse (json 2.6) differs in ways a client could see: it
  # accepts /* comments */ and unknown escapes ("\x" => "x"), refuses a lone
  # surrogate escape ("\ud800", which JavaScript keeps and the contract answers
  # with 422 naming the field), and stops at 100 levels of nesting. This
  # parser is iterative (no recursion, so "[" * 200_000 is just data) and
  # keeps a lone surrogate escape as its 3-byte WTF-8 form: the string is then
  # not valid_encoding?, which the validation turns into "must be valid Unicode".
  module StrictJson
    class ParseError < StandardError; end

    WHITESPACE = /[ \t\n\r]*/
    NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/
    PLAIN = /[^"\\\x00-\x1f]+/
    HEX4 = /[0-9a-fA-F]{4}/
    SIMPLE_ESCAPES = {
      '"' => '"', "\\" => "\\", "/" => "/", "b" => "\b", "f" => "\f", "n" => "\n", "r" => "\r", "t" => "\t"
    }.freeze

    module_function

    # What Ruby's parser reads differently: a comment opener, or an escape
    # JavaScript refuses ("\x"). Texts without either go the fast way first.
    RUBY_ONLY_RE = %r{/[*/]|\\[^"\\/bfnrtu]}
    UNPARSED = Object.new.freeze

    # Parses a UTF-8 string; raises ParseError on anything JSON.parse would refuse.
    def parse(text)
      value = fast_parse(text)
      value.equal?(UNPARSED) ? Parser.new(text).parse : value
    end

    # Ruby's C parser (about 8x faster; a 4 MB /import body is its reason), for
    # texts where it cannot differ from JavaScript: no comment opener and no
    # escape JavaScript refuses (RUBY_ONLY_RE). Anything it refuses (a lone
    # surrogate escape, which the contract answers with a 422, not a 400; more
    # than 100 levels of nesting, where its recursion would overflow the stack)
    # is handed to the exact, iterative parser below, which decides.
    def fast_parse(text)
      return UNPARSED if RUBY_ONLY_RE.match?(text)

      JSON.parse(text, max_nesting: 100, allow_nan: false, create_additions: false)
    rescue JSON::ParserError
      UNPARSED
    end

    # A string that holds a lone surrogate (WTF-8) as a JSON string literal with
    # \uXXXX escapes, as JSON.stringify writes it; valid strings go through JSON.generate.
    def dump_string(string)
      return JSON.generate(string) if string.valid_encoding?

      out = +'"'
      string.b.scan(/\xED[\xA0-\xBF][\x80-\xBF]|[^\xED]+|\xED/n) do |piece|
        if piece.bytesize == 3 && piece.getbyte(0) == 0xED
          code = ((piece.getbyte(0) & 0x0F) << 12) | ((piece.getbyte(1) & 0x3F) << 6) | (piece.getbyte(2) & 0x3F)
          out << format("\\u%04x", code)
        else
          out << JSON.generate(piece.dup.force_encoding(Encoding::UTF_8).scrub("\uFFFD"))[1...-1]
        end
      end
      out << '"'
    end

    # A surrogate code unit as the 3 bytes UTF-8 would give it (invalid UTF-8 on purpose).
    def wtf8(code)
      [0xE0 | (code >> 12), 0x80 | ((code >> 6) & 0x3F), 0x80 | (code & 0x3F)].pack("C*")
    end

    class Parser
      def initialize(text)
        @s = StringScanner.new(text)
      end

      def parse
        stack = [] # open containers: [Array] or [Hash, pending key]
        loop do
          value = read_value(stack)
          next if value.equal?(OPENED)

          # A value is complete: attach it, closing every container it completes.
          loop do
            return finish(value) if stack.empty?

            frame = stack.last
            container = frame[0]
            if container.is_a?(Array)
              container << value
            else
              container[frame[1]] = value
            end
            skip_ws
            if @s.skip(/,/)
              frame[1] = read_key if container.is_a?(Hash)
              break
            elsif @s.skip(container.is_a?(Array) ? /\]/ : /\}/)
              value = container
              stack.pop
            else
              fail!
            end
          end
        end
      end

      private

      OPENED = Object.new.freeze

      def finish(value)
        skip_ws
        fail! unless @s.eos?
        value
      end

      # Reads a scalar or an empty container and returns it, or opens a
      # container on the stack and returns OPENED.
      def read_value(stack)
        skip_ws
        case @s.peek(1)
        when "{"
          @s.pos += 1
          skip_ws
          return {} if @s.skip(/\}/)

          stack.push([{}, read_key])
          OPENED
        when "["
          @s.pos += 1
          skip_ws
          return [] if @s.skip(/\]/)

          stack.push([[]])
          OPENED
        when '"'
          @s.pos += 1
          read_string
        when "t" then literal("true", true)
        when "f" then literal("false", false)
        when "n" then literal("null", nil)
        else
          number = @s.scan(NUMBER) or fail!
          # Only the type of a number matters to the API (no field is numeric).
          number.match?(/\A-?[0-9]{1,18}\z/) ? number.to_i : number.to_f
        end
      end

      def read_key
        skip_ws
        fail! unless @s.skip(/"/)
        key = read_string
        skip_ws
        fail! unless @s.skip(/:/)
        key
      end

      LITERALS = { "true" => /true/, "false" => /false/, "null" => /null/ }.freeze

      def literal(word, value)
        fail! unless @s.skip(LITERALS.fetch(word))
        value
      end

      # After the opening quote; returns the string, consuming the closing quote.
      def read_string
        out = String.new(encoding: Encoding::UTF_8)
        loop do
          chunk = @s.scan(PLAIN)
          out << chunk if chunk
          if @s.skip(/"/)
            return out
          elsif @s.skip(/\\/)
            read_escape(out)
          else
            fail! # end of input or a raw control character
          end
        end
      end

      def read_escape(out)
        char = @s.getch or fail!
        if (simple = SIMPLE_ESCAPES[char])
          out << simple
          return
        end
        fail! unless char == "u"
        code = hex4
        if code.between?(0xD800, 0xDBFF) && @s.match?(/\\u[dD][c-fC-F]/)
          @s.pos += 2
          low = hex4
          out << (0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)).chr(Encoding::UTF_8)
        elsif code.between?(0xD800, 0xDFFF)
          out << StrictJson.wtf8(code).force_encoding(Encoding::UTF_8)
        else
          out << code.chr(Encoding::UTF_8)
        end
      end

      def hex4
        digits = @s.scan(HEX4) or fail!
        digits.to_i(16)
      end

      def skip_ws
        @s.skip(WHITESPACE)
      end

      def fail!
        raise ParseError, "invalid JSON at byte #{@s.pos}"
      end
    end
  end
end
