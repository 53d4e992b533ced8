"""Korean text analysis shared by the chat (badges), the data tools and the eval: speech level (Kiwi's
sentence-final endings), style markers, Hangul share and leakage, local references, fluency."""
