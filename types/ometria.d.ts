// Type declarations for the Ometria tag's public API: the global `ometria` object that
// `<script src=".../tags/<account>.js">` publishes. Shipped beside the tag files
// (dist/tags/ometria.d.ts); `make test` compiles tests/typescript/sample.ts against it.
//
// Every call is safe to make with any value: the tag coerces what the wire contract allows
// (numeric ids become strings, "£1,234.50" becomes 1234.5) and refuses the rest with a warning
// in the #om_debug overlay. The types below describe what integrations should pass.

export {};

declare global {
  /** An id as stores pass it: a string, kept exactly ("000000145"), or a number ("4521"). */
  type OmetriaId = string | number;
  /** A money amount: a number, or text such as "£1,234.50". */
  type OmetriaMoney = number | string;
  /** Data carried as given (copied as JSON, at most a few levels deep). */
  type OmetriaData = { [key: string]: unknown };

  /** The page types the tag knows; other values are recorded as given, with a warning. */
  type OmetriaPageType =
    | 'homepage' | 'listing' | 'search' | 'product' | 'basket' | 'checkout' | 'confirmation' | 'content';

  /** A line of a basket, as the tag sends it. */
  interface OmetriaBasketItem {
    product_id: string;
    quantity: number;
    price: number | null;
    variant_id: string | null;
    props?: OmetriaData;
  }

  /** `new ometria.Basket()`: setters coerce their arguments and return the basket. */
  interface OmetriaBasket {
    id: string | null;
    currency: string | null;
    total: number | null;
    url: string | null;
    items: OmetriaBasketItem[];
    /** The sum of the lines' quantities. */
    size: number;
    setId(id: OmetriaId): OmetriaBasket;
    setTotal(total: OmetriaMoney, currency?: string): OmetriaBasket;
    addLineItem(productId: OmetriaId, quantity?: number | string, price?: OmetriaMoney,
                variantId?: OmetriaId | null | OmetriaData, props?: OmetriaData): OmetriaBasket;
    setUrl(url: string): OmetriaBasket;
    /** The same as setUrl (the spelling some stores use). */
    setURL(url: string): OmetriaBasket;
    /** Extra data carried with the basket (the deployed tag's). */
    setData(data: OmetriaData): OmetriaBasket;
    setProperties(properties: OmetriaData): OmetriaBasket;
  }

  /** What `ometria._debug()` gives support engineers. */
  interface OmetriaDebugSnapshot {
    account: string;
    cookieId: string;
    sessionId: string;
    userIdentity: string | null;
    isNewVisitor: boolean;
    storeId: string | null;
    linked: boolean;
    source: OmetriaData | null;
    firstSource: OmetriaData | null;
  }

  interface OmetriaBasketConstructor {
    new (): OmetriaBasket;
    (): OmetriaBasket;
  }

  /** The Magento extensions' data layer, written before the tag loads. */
  interface OmetriaRawData {
    type?: OmetriaPageType | string;
    store?: OmetriaId;
    data?: OmetriaData | false;
    query?: string;
    [key: string]: unknown;
  }

  interface Ometria {
    /** A pageview. `init()` with no arguments re-reads `ometria.raw_data`. */
    init(pageType?: OmetriaPageType | string | null, pageData?: OmetriaData | null, storeId?: OmetriaId): void;
    /** Identify the visitor by email address or `omid:<profile id>`; sent only when it changes. */
    identify(email: string, profile?: OmetriaData | null): void;
    Basket: OmetriaBasketConstructor;
    /** Record the basket when it changed since the last one sent in this session. */
    setBasket(basket: OmetriaBasket): void;
    /** The last basket given to setBasket, or null. */
    getBasket(): OmetriaBasket | null;
    /** The last basket given to setBasket (read by third-party scripts). */
    basket?: OmetriaBasket;
    /** An add-to-basket click; quantity defaults to 1; `extra` is sent with the event. */
    trackAddToBasket(productId: OmetriaId, quantity?: number | string, extra?: OmetriaData): void;
    /** A checkout step: a number (1, 2...) or a name ("payment"). */
    trackCheckout(stage: number | string, extra?: OmetriaData): void;
    /** An order (its order id, or web id), recorded once. */
    trackTransaction(orderId: OmetriaId, extra?: OmetriaData): void;
    /** A custom event (type: at most 32 characters); `callback` runs about 250 ms later. */
    track(type: string, data?: OmetriaData, callback?: () => void): void;
    /** Data about the identified visitor (nothing is sent before identify). */
    setProfileData(data: OmetriaData): void;
    /** A product seen outside its own page (a quick view, a carousel). */
    viewProduct(productId: OmetriaId): void;
    /** The next pageview's type and data, where `init` gives none. */
    setPageType(pageType: OmetriaPageType | string): void;
    setPageData(pageData: OmetriaData): void;
    /** The remembered identity, or null. */
    getIdentity(): string | null;
    /** True during the visitor's first session. */
    isNewVisitor(): boolean;
    /** Mark the session as linked to a server-side session. */
    linkSession(linked: boolean): void;
    /** A valid email typed into an input matching `selector` identifies the visitor. */
    observeEmailInputs(selector: string): void;
    /** Turn the #om_debug overlay on or off (a one-day cookie), then reload. */
    setDebugLogging(on: boolean): void;
    /** Ids and state for support engineers. */
    _debug(): OmetriaDebugSnapshot;
    /** Not supported by this tag: does nothing but warn in the overlay. */
    ajaxFormSubmit(...args: unknown[]): void;
    /** Not supported by this tag: does nothing but warn in the overlay. */
    request(...args: unknown[]): void;
    /** The shopper's consent choice (for accounts that require consent). */
    setConsent(granted: boolean): void;
    /** Delete the visitor's ids, identity, basket memory and outbox in this browser. */
    forget(): void;
    /** The Magento data layer, when the store writes one. */
    raw_data?: OmetriaRawData;
    /** Called once after the tag loads. */
    onLoad?: () => void;
  }

  interface Window {
    ometria: Ometria;
    /** Called once after the tag loads, after `ometria.onLoad`. */
    onOmetriaLoaded?: () => void;
  }

  var ometria: Ometria;
}
