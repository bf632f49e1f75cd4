# frozen_string_literal: true

require "base64"

module Gtd
  # The opaque `cursor` of a paged list (contract v2 §3): the position of the
  # last item served, base64url("created_at|seq") without padding. The next
  # page is what comes after it in list order (created_at DESC, seq DESC), so
  # rows created or deleted meanwhile neither repeat nor skip an item.
  module Cursor
    TOKEN_RE = /\A[A-Za-z0-9_-]{1,200}\z/
    POSITION_RE = /\A(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([1-9][0-9]{0,18})\z/

    module_function

    def encode(created_at, seq)
      Base64.urlsafe_encode64("#{created_at}|#{seq}", padding: false)
    end

    # [created_at, seq] of a token this backend wrote, or nil for anything else.
    def decode(token)
      return nil unless token.is_a?(String) && TOKEN_RE.match?(token)

      text = Base64.urlsafe_decode64(token).force_encoding(Encoding::UTF_8)
      match = text.valid_encoding? && POSITION_RE.match(text)
      match ? [match[1], match[2].to_i] : nil
    rescue ArgumentError
      nil
    end
  end
end
